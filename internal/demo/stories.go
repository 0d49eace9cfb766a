package demo

import (
	"time"

	"github.com/webcare/webcare/internal/store"
)

const day = 24 * time.Hour

// persona is a fictional customer with an account on one or more platforms.
type persona struct {
	name  string
	first string
	lang  string
	ids   map[string]identity // by channel kind
}

// line is one message of a seeded conversation.
type line struct {
	out   bool          // an agent's reply rather than the customer's message
	after time.Duration // since the previous line; the first line is at the thread's start
	agent string        // who replied, by agent key
	text  string
}

func in(after time.Duration, text string) line { return line{after: after, text: text} }

func out(after time.Duration, agent, text string) line {
	return line{out: true, after: after, agent: agent, text: text}
}

// thread is one seeded conversation and where it stands today.
type thread struct {
	via      string // channel kind
	private  bool
	ago      time.Duration // when the customer wrote first, before now
	subject  string
	lines    []line
	status   store.Status // "" leaves what ingesting and replying made of it
	tags     []string
	note     string        // an internal note by the last agent
	linkPrev bool          // moved here from the previous, public thread
	assign   string        // hand the conversation to this agent (field staff)
	snooze   time.Duration // with status snoozed: until now plus this
}

// story is a customer's history with Heron.
type story struct {
	who     persona
	threads []thread
}

// stories are the hand-written histories that show what webcare is for:
// remembering an earlier chat (Jayden, after seed 000's Fawaka story),
// moving to DM and linking the threads (Sanne, Kees), one profile across
// platforms (Sanne, Thomas, Lucía), a sincere apology instead of money
// (Thomas, Julien), de-escalating anger (Kees), a handoff to a purser
// (Emily), and work in progress in every status.
func stories() []story {
	return []story{
		{
			who: persona{name: "Jayden Koster", first: "Jayden", lang: "nl", ids: map[string]identity{
				"x": {externalID: "1432198765432109876", handle: "@jaydenkstr", name: "Jayden Koster"},
			}},
			threads: []thread{
				{via: "x", ago: 331 * day, status: store.StatusResolved, tags: []string{"baggage", "slang"},
					note: "Leuke klant, praat straattaal. Heeft beloofd een stroopwafel voor ons te bewaren 😄 Komt hij terug: vraag ernaar!",
					lines: []line{
						in(0, "Fakka @HeronAir! Mag ik m'n zak stroopwafels mee in de handbagage naar Curaçao of gaan ze moeilijk doen bij security? 😂 #HN757"),
						out(14*time.Minute, "lotte", "Fakka Jayden! Stroopwafels mogen gewoon mee in je handbagage hoor, geen stress 😎 Hou je er eentje over, dan weet je ons te vinden. ^Lotte"),
						in(9*time.Minute, "Hahaha deal, ik bewaar er eentje voor jullie. Safe 🙏"),
						out(5*time.Minute, "lotte", "Deal is deal! Goede vlucht en geniet van Curaçao 🌴 ^Lotte"),
					}},
				{via: "x", ago: 18 * time.Minute, lines: []line{
					in(0, "Fakka @HeronAir, daar ben ik weer 😎 Vrijdag met HN757 terug naar Curaçao. Mag m'n duikspullen mee of kost dat extra? Die stroopwafel heb ik trouwens nog steeds 😂"),
				}},
			},
		},
		{
			who: persona{name: "Sanne de Boer", first: "Sanne", lang: "nl", ids: map[string]identity{
				"x":        {externalID: "1198765432101234567", handle: "@sannedeboer", name: "Sanne de Boer"},
				"whatsapp": {externalID: "31612340187", handle: "+31 6 1234 0187", name: "Sanne de Boer"},
			}},
			threads: []thread{
				{via: "x", ago: 42 * day, status: store.StatusResolved, tags: []string{"baggage"}, lines: []line{
					in(0, "@HeronAir Al 2 uur op Schiphol en nog steeds geen koffer van HN1606 uit Rome. Band 14 staat stil en niemand weet iets. #Schiphol"),
					out(11*time.Minute, "lotte", "Wat vervelend, Sanne, dat wil je na een vlucht echt niet. Stuur je ons je boekingscode en het nummer van je bagagelabel via DM? Dan zoeken we het meteen uit. ^Lotte"),
				}},
				{via: "x", private: true, ago: 42*day - 20*time.Minute, status: store.StatusResolved, tags: []string{"baggage"}, linkPrev: true, lines: []line{
					in(0, "Hoi! Boekingscode QX7K2M, label HN 482913. Zwarte koffer met een gele band."),
					out(9*time.Minute, "lotte", "Dank je, Sanne! Je koffer staat nog in Rome en komt morgen mee met HN1606. We bezorgen hem morgenavond bij je thuis. Sorry voor het gedoe. ^Lotte"),
					in(4*time.Minute, "Top, dank jullie wel! 🙏"),
				}},
				{via: "whatsapp", private: true, ago: 41*day - 10*time.Hour, status: store.StatusResolved, tags: []string{"baggage", "compliment"}, lines: []line{
					in(0, "Hoi Heron, de koerier is net geweest met mijn koffer. Alles is er nog. Wat een service, dank jullie wel! Groetjes, Sanne"),
					out(12*time.Minute, "lotte", "Wat fijn dat hij er is, Sanne! Dank je voor je berichtje en een fijne avond nog 💙 ^Lotte"),
				}},
			},
		},
		{
			who: persona{name: "Thomas Brandt", first: "Thomas", lang: "de", ids: map[string]identity{
				"email":    {externalID: "thomas.brandt@post.example", handle: "thomas.brandt@post.example", name: "Thomas Brandt", domain: "post.example"},
				"facebook": {externalID: "7346128907654321", name: "Thomas Brandt"},
			}},
			threads: []thread{
				{via: "email", private: true, ago: 121 * day, subject: "Verspätung HN1854 – Anschlussflug verpasst", status: store.StatusResolved, tags: []string{"delay", "complaint"}, lines: []line{
					in(0, "Sehr geehrte Damen und Herren,\n\nmein Flug HN1854 von München hatte fast drei Stunden Verspätung. Dadurch habe ich in Amsterdam meinen Anschluss nach New York verpasst und bin erst am nächsten Abend angekommen, zu spät für den Geburtstag meiner Tochter.\n\nIch bin wirklich enttäuscht.\n\nThomas Brandt"),
					out(47*time.Minute, "jonas", "Sehr geehrter Herr Brandt,\n\ndas tut mir aufrichtig leid. Den Geburtstag Ihrer Tochter zu verpassen, macht kein Gutschein wieder gut, und ich verstehe Ihre Enttäuschung. Die Verspätung kam von einem technischen Defekt; das hätten wir Ihnen am Gate sofort sagen müssen. Ihr Fall liegt jetzt bei unserem Erstattungsteam, Sie hören innerhalb von fünf Tagen von uns.\n\nMit freundlichen Grüßen\nJonas Keller, Heron Airlines"),
					in(3*time.Hour, "Vielen Dank für die ehrliche Antwort. Das hilft mir mehr, als Sie denken.\n\nThomas Brandt"),
				}},
				{via: "facebook", ago: 119 * day, status: store.StatusResolved, tags: []string{"compliment"}, lines: []line{
					in(0, "Muss mal gesagt werden: Nach der Verspätung letzte Woche hat sich Heron wirklich menschlich entschuldigt. Kommt selten vor 👍"),
					out(22*time.Minute, "jonas", "Danke, Thomas! Das freut uns sehr zu lesen. ^Jonas"),
				}},
			},
		},
		{
			who: persona{name: "Emily Carter", first: "Emily", lang: "en", ids: map[string]identity{
				"x": {externalID: "874512309", handle: "@emcarter", name: "Emily Carter"},
			}},
			threads: []thread{
				{via: "x", ago: 203 * day, status: store.StatusResolved, tags: []string{"compliment", "crew"}, lines: []line{
					in(0, "Huge thanks to the crew of HN641 AMS→JFK tonight, especially Marloes who found my daughter's teddy under row 23. You made a 7-year-old very happy ✈️🧸 @HeronAir"),
					out(19*time.Minute, "lotte", "What a lovely story, Emily! We've passed your thanks on to Marloes, she'll be delighted. Give our love to the teddy 🧸 ^Lotte"),
				}},
				{via: "x", private: true, ago: 3 * day, tags: []string{"crew"}, assign: "marloes",
					note: "Forwarded to Marloes (purser on HN641); she can answer from her phone.",
					lines: []line{
						in(0, "Hi again! Flying HN641 again on Friday with my daughter. Any chance Marloes is working? She'd love to say hi 😊"),
						out(26*time.Minute, "lotte", "Hi Emily! I can't promise rosters, but I've forwarded your message to Marloes herself. She'll reply here if she can. ^Lotte"),
					}},
			},
		},
		{
			who: persona{name: "Marco Bianchi", first: "Marco", lang: "it", ids: map[string]identity{
				"whatsapp": {externalID: "395551234567", handle: "+39 555 123 4567", name: "Marco Bianchi"},
			}},
			threads: []thread{
				{via: "whatsapp", private: true, ago: 63 * day, status: store.StatusResolved, tags: []string{"family"}, lines: []line{
					in(0, "Buongiorno, viaggio con mia figlia di 10 mesi sul HN1606 da Roma ad Amsterdam. Posso portare il passeggino fino all'aereo?"),
					out(16*time.Minute, "ines", "Buongiorno Marco! Sì, il passeggino può portarlo fino alla porta dell'aereo e lo ritrova all'arrivo. Buon viaggio a lei e alla piccola! ^Inès"),
					in(7*time.Minute, "Perfetto, grazie mille!"),
				}},
			},
		},
		{
			who: persona{name: "Lucía Fernández", first: "Lucía", lang: "es", ids: map[string]identity{
				"instagram": {externalID: "17841400123456789", handle: "@lucia.fdez", name: "Lucía Fernández"},
				"telegram":  {externalID: "583920174", handle: "@luciafdez", name: "Lucía Fernández"},
			}},
			threads: []thread{
				{via: "instagram", ago: 92 * day, status: store.StatusResolved, tags: []string{"compliment"}, lines: []line{
					in(0, "¡Qué bonitas las fotos del nuevo avión! ¿Cuándo empieza a volar a Madrid? 😍"),
					out(31*time.Minute, "ines", "¡Gracias, Lucía! 😊 El nuevo avión vuela a Madrid a partir de junio con el HN1701. ¡Te esperamos a bordo! ^Inès"),
				}},
				{via: "telegram", private: true, ago: 33 * day, status: store.StatusResolved, tags: []string{"rebooking"}, lines: []line{
					in(0, "Hola, tengo reserva en el HN1701 el viernes (código T4MZ8R). ¿Puedo cambiarlo al domingo?"),
					out(12*time.Minute, "ines", "¡Hola, Lucía! Hecho: te he cambiado al domingo, mismo horario y sin coste. Recibirás la nueva tarjeta de embarque por correo. ^Inès"),
					in(3*time.Minute, "¡Genial, mil gracias! 🙌"),
				}},
			},
		},
		{
			who: persona{name: "Julien Girard", first: "Julien", lang: "fr", ids: map[string]identity{
				"email": {externalID: "julien.girard@courriel.example", handle: "julien.girard@courriel.example", name: "Julien Girard", domain: "courriel.example"},
			}},
			threads: []thread{
				{via: "email", private: true, ago: 152 * day, subject: "Vol HN1325 annulé – inadmissible", status: store.StatusResolved, tags: []string{"cancellation", "angry"}, lines: []line{
					in(0, "Bonjour,\n\nMon vol HN1325 pour Paris a été annulé la veille au soir par un simple SMS. Personne au téléphone, aucune solution proposée. C'est tout simplement inadmissible.\n\nJulien Girard"),
					out(38*time.Minute, "ines", "Bonjour Monsieur Girard,\n\nJe lis votre colère et je la comprends : apprendre une annulation par SMS, sans personne pour vous aider, n'est pas acceptable. Je vous ai replacé sur le HN1327 de demain à 9 h 40 ; votre carte d'embarquement est jointe. Je suis sincèrement désolée.\n\nInès Garnier, Heron Airlines"),
					in(time.Hour, "Merci. Ça ne change rien à la soirée d'hier, mais je note l'effort.\n\nJ. Girard"),
					out(20*time.Minute, "ines", "Merci pour votre retour, Monsieur Girard. Bon vol demain.\n\nInès"),
				}},
			},
		},
		{
			who: persona{name: "Ana Oliveira", first: "Ana", lang: "pt", ids: map[string]identity{
				"webchat": {externalID: "visitor-3f9a1c2b7d4e", name: "Ana"},
			}},
			threads: []thread{
				{via: "webchat", private: true, ago: 26 * day, status: store.StatusResolved, tags: []string{"pets"}, lines: []line{
					in(0, "Olá! Posso levar o meu gato na cabine no voo para Lisboa?"),
					out(2*time.Minute, "ines", "Olá Ana! Pode, sim: até 8 kg com a transportadora, numa mala que caiba debaixo do banco. Basta reservar o lugar do animal em heron.example/animais. ^Inès"),
					in(time.Minute, "Ótimo, obrigada!"),
				}},
			},
		},
		{
			who: persona{name: "佐藤 美咲", first: "佐藤", lang: "ja", ids: map[string]identity{
				"x": {externalID: "1356789012345678901", handle: "@misaki_sato", name: "佐藤 美咲"},
			}},
			threads: []thread{
				{via: "x", ago: 77 * day, status: store.StatusResolved, tags: []string{"meals"}, lines: []line{
					in(0, "@HeronAir 来月HN861便で東京に帰ります。ベジタリアンの機内食はお願いできますか？"),
					out(24*time.Minute, "yuki", "佐藤様、お問い合わせありがとうございます！ご出発の24時間前まで heron.example/meals からベジタリアンミールをご予約いただけます。よいご旅行を！^Yuki"),
					in(6*time.Minute, "ありがとうございます！予約しました😊"),
				}},
			},
		},
		{
			who: persona{name: "Kees Mulder", first: "Kees", lang: "nl", ids: map[string]identity{
				"facebook": {externalID: "7012345678901234", name: "Kees Mulder"},
			}},
			threads: []thread{
				{via: "facebook", ago: 11 * day, status: store.StatusResolved, tags: []string{"angry", "delay"}, lines: []line{
					in(0, "Stelletje amateurs. Vier uur vertraging op HN1001 en niemand die iets zegt. En dan durven jullie jezelf een topairline te noemen? Bah."),
					out(8*time.Minute, "ruben", "Ik lees dat je boos bent, Kees, en dat snap ik: vier uur wachten zonder uitleg is niet oké. Kan ik je helpen? Stuur je ons je boekingscode in een privébericht, dan zoek ik uit wat er misging. ^Ruben"),
					in(15*time.Minute, "Oké, eerlijk is eerlijk, dat is netjes. Ik stuur je een bericht."),
					out(4*time.Minute, "ruben", "Dank je, Kees. Tot zo in je inbox. ^Ruben"),
				}},
				{via: "facebook", private: true, ago: 11*day - 30*time.Minute, status: store.StatusResolved, tags: []string{"delay"}, linkPrev: true, lines: []line{
					in(0, "Boekingscode H7KP3W. Gewoon zeggen wat er aan de hand was had al zoveel gescheeld."),
					out(10*time.Minute, "ruben", "Dank je. Het toestel had een defecte sensor en er moest een onderdeel uit Londen komen. Dat hadden we je aan de gate moeten vertellen. Dat is niet gebeurd, en dat spijt me echt. Ik heb het besproken met het gateteam. ^Ruben"),
					in(6*time.Minute, "Waardeer ik. Volgende keer beter 👍"),
				}},
			},
		},
		{
			who: persona{name: "Daniel Hayes", first: "Daniel", lang: "en", ids: map[string]identity{
				"mastodon": {externalID: "https://fedi.example/users/danhayes", handle: "@danhayes@fedi.example", name: "Daniel Hayes"},
			}},
			threads: []thread{
				{via: "mastodon", ago: 2 * time.Hour, status: store.StatusPending, tags: []string{"onboard"}, lines: []line{
					in(0, "@HeronAir@mastodon.example Do you have power sockets on HN641 to New York? Working the whole flight and my laptop battery is… vintage."),
					out(21*time.Minute, "lotte", "Hi Daniel! Yes: every seat on HN641 has a power socket and a USB-C port. Want us to check your seat too? ^Lotte"),
				}},
			},
		},
		{
			who: persona{name: "Katarzyna Nowak", first: "Katarzyna", lang: "pl", ids: map[string]identity{
				"email": {externalID: "katarzyna.nowak@example.com", handle: "katarzyna.nowak@example.com", name: "Katarzyna Nowak", domain: "example.com"},
			}},
			threads: []thread{
				{via: "email", private: true, ago: 5 * day, subject: "Zwrot kosztów – lot HN1365", status: store.StatusSnoozed, snooze: 20 * time.Hour, tags: []string{"refund"}, lines: []line{
					in(0, "Dzień dobry,\n\nmój lot HN1365 z Warszawy został odwołany dwa tygodnie temu. Czekam na zwrot kosztów biletu. Kiedy mogę się go spodziewać?\n\nZ poważaniem,\nKatarzyna Nowak"),
					out(52*time.Minute, "jonas", "Dzień dobry Pani Katarzyno,\n\ndziękujemy za wiadomość i przepraszamy za odwołany lot. Zwrot został zlecony i powinien pojawić się na koncie w ciągu 7 dni roboczych. Sprawdzę to dla Pani ponownie jutro.\n\nZ pozdrowieniami,\nJonas Keller, Heron Airlines"),
				}},
			},
		},
		{
			who: persona{name: "Wim Hendriks", first: "Wim", lang: "nl", ids: map[string]identity{
				"api": {externalID: "HC20481375", name: "Wim Hendriks"},
			}},
			threads: []thread{
				{via: "api", private: true, ago: 95 * time.Minute, subject: "Rolstoelassistentie HN1227", tags: []string{"assistance"}, lines: []line{
					in(0, "Bericht via Mijn Boeking (boekingscode R2VN6D):\nMijn vader (82) heeft rolstoelhulp nodig op HN1227 naar Barcelona, maar ik zie het niet terug in de boeking. Kunt u dat controleren? Hij kan zelf nog een paar stappen lopen."),
				}},
			},
		},
	}
}
