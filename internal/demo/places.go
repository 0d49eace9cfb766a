package demo

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// route is one Heron Airlines destination from the Amsterdam hub.
type route struct {
	flight  string
	airport string            // IATA code
	city    string            // the English name
	local   map[string]string // the city's name where a language spells it differently
	langs   []string          // who fly it most, so a Japanese tweet mentions Tokyo
}

// cityIn is the city's name as a writer of lang would spell it.
func (r route) cityIn(lang string) string {
	if name, ok := r.local[lang]; ok {
		return name
	}
	return r.city
}

// routes is read-only: the Heron network the demo talks about.
var routes = []route{
	{"HN641", "JFK", "New York", map[string]string{"es": "Nueva York", "pt": "Nova Iorque"}, []string{"en"}},
	{"HN1001", "LHR", "London", map[string]string{"nl": "Londen", "fr": "Londres", "es": "Londres", "it": "Londra", "pt": "Londres"}, []string{"en"}},
	{"HN1605", "FCO", "Rome", map[string]string{"de": "Rom", "es": "Roma", "it": "Roma", "pt": "Roma"}, []string{"it"}},
	{"HN1227", "BCN", "Barcelona", map[string]string{"fr": "Barcelone", "it": "Barcellona"}, []string{"es"}},
	{"HN1691", "LIS", "Lisbon", map[string]string{"nl": "Lissabon", "de": "Lissabon", "fr": "Lisbonne", "es": "Lisboa", "it": "Lisbona", "pt": "Lisboa"}, []string{"pt"}},
	{"HN1325", "CDG", "Paris", map[string]string{"es": "París", "it": "Parigi"}, []string{"fr"}},
	{"HN1853", "MUC", "Munich", map[string]string{"nl": "München", "de": "München", "es": "Múnich", "it": "Monaco di Baviera", "pt": "Munique"}, []string{"de"}},
	{"HN1773", "BER", "Berlin", map[string]string{"nl": "Berlijn", "es": "Berlín", "it": "Berlino", "pt": "Berlim"}, []string{"de"}},
	{"HN861", "NRT", "Tokyo", map[string]string{"nl": "Tokio", "de": "Tokio", "es": "Tokio", "pt": "Tóquio"}, []string{"ja"}},
	{"HN887", "ICN", "Seoul", map[string]string{"fr": "Séoul", "es": "Seúl", "it": "Seul", "pt": "Seul"}, []string{"ko"}},
	{"HN1957", "IST", "Istanbul", map[string]string{"es": "Estambul", "pt": "Istambul"}, []string{"tr"}},
	{"HN427", "DXB", "Dubai", map[string]string{"es": "Dubái"}, []string{"ar"}},
	{"HN1365", "WAW", "Warsaw", map[string]string{"nl": "Warschau", "de": "Warschau", "fr": "Varsovie", "es": "Varsovia", "it": "Varsavia", "pt": "Varsóvia"}, []string{"pl"}},
	{"HN791", "GRU", "São Paulo", map[string]string{"it": "San Paolo"}, []string{"pt"}},
	{"HN757", "CUR", "Curaçao", nil, []string{"nl"}},
	{"HN1701", "MAD", "Madrid", nil, []string{"es"}},
	{"HN713", "PBM", "Paramaribo", nil, []string{"nl"}},
	{"HN895", "PVG", "Shanghai", map[string]string{"es": "Shanghái", "pt": "Xangai"}, []string{"zh"}},
	{"HN1263", "NCE", "Nice", map[string]string{"de": "Nizza", "es": "Niza", "it": "Nizza"}, []string{"fr"}},
}

// crew are first names of fictional Heron cabin and ground staff that
// customers praise by name.
var crew = []string{"Marloes", "Bas", "Priya", "Joris", "Esther", "Karim", "Mila", "Rik", "Noa", "Ivo", "Sofie", "Hamid"}

// pickRoute prefers a route that lang's speakers fly, as real traffic does.
func pickRoute(r *rand.Rand, lang string) route {
	if r.IntN(10) < 7 {
		var home []route
		for _, rt := range routes {
			if slices.Contains(rt.langs, lang) {
				home = append(home, rt)
			}
		}
		if len(home) > 0 {
			return home[r.IntN(len(home))]
		}
	}
	return routes[r.IntN(len(routes))]
}

// bookingCode looks like an airline record locator. The alphabet leaves out
// 0/O and 1/I, which customers mistype.
func bookingCode(r *rand.Rand) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 6)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// randomValues fills a text for one author writing in lang.
func randomValues(r *rand.Rand, lang, firstName string) Values {
	rt := pickRoute(r, lang)
	return Values{
		Flight:  rt.flight,
		City:    rt.cityIn(lang),
		Minutes: strconv.Itoa(35 + 5*r.IntN(42)), // 35…240, in fives as people round
		Hours:   strconv.Itoa(2 + r.IntN(8)),
		Code:    bookingCode(r),
		Name:    firstName,
		Crew:    crew[r.IntN(len(crew))],
	}
}

// RandomValues fills a text's placeholders for one author writing in lang:
// a flight its speakers fly, the city spelt their way, a fresh booking code.
// Other generators (webcare bench seed) use it to vary the corpus.
func RandomValues(r *rand.Rand, lang, firstName string) Values {
	return randomValues(r, lang, firstName)
}
