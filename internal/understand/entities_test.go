package understand

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestEntities(t *testing.T) {
	cases := []struct {
		text    string
		want    []string // kind=value, in order found… compared as a set
		private []string
	}{
		{"@KLM my flight KL1234 to JFK is delayed, booking X7KQ2B", []string{"flight=KL1234", "airport=JFK", "booking=X7KQ2B"}, []string{"booking"}},
		{"vlucht kl 605 vanaf Schiphol naar Lissabon, boekingscode ABCDEF", []string{"flight=KL605", "airport=AMS", "airport=LIS", "booking=ABCDEF"}, []string{"booking"}},
		{"HR 605 on 12/03 from Eindhoven", []string{"flight=HR605", "date=12/03", "airport=EIN"}, []string{}},
		{"call me on +31 6 12345678 or mail anna@example.nl", []string{"phone=+31 6 12345678", "email=anna@example.nl"}, []string{"phone", "email"}},
		{"bel 06-12345678 aub", []string{"phone=06-12345678"}, []string{"phone"}},
		{"my card 4111 1111 1111 1111 was charged twice", []string{"card=4111 1111 1111 1111"}, []string{"card"}},
		{"order 4111 1111 1111 1112 is not a card", []string{}, []string{}},
		{"passport number NPF8J2V41 expires soon", []string{"passport=NPF8J2V41"}, []string{"passport"}},
		{"thanks, that was a NICE flight to Nice", []string{"airport=NCE"}, []string{}},
		{"nice service today", []string{}, []string{}},
		{"THANKS AGAIN YOU ARE GREAT", []string{}, []string{}},
		{"从北京到上海的航班CA1234延误了", []string{"airport=PEK", "airport=PVG", "flight=CA1234"}, []string{}},
		{"3월 12일 인천 출발 KE 901", []string{"date=3월 12일", "airport=ICN", "flight=KE901"}, []string{}},
		{"flying on 2026-12-24 and back January 3rd", []string{"date=2026-12-24", "date=January 3rd"}, []string{}},
		{"", []string{}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			got, private := Entities(c.text)
			var names []string
			for _, e := range got {
				names = append(names, e.Kind+"="+e.Value)
			}
			slices.Sort(names)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(names, want) && !(len(names) == 0 && len(want) == 0) {
				t.Errorf("entities %v, want %v", names, want)
			}
			slices.Sort(private)
			slices.Sort(c.private)
			if !slices.Equal(private, c.private) {
				t.Errorf("private %v, want %v", private, c.private)
			}
		})
	}
}

func TestEntitiesOfHugeText(t *testing.T) {
	got, _ := Entities(strings.Repeat("A", 64<<10))
	if len(got) != 0 {
		t.Errorf("64 KiB of one letter: %v", got)
	}
	got, _ = Entities(strings.Repeat("KL1234 ", 10000))
	if len(got) == 0 || len(got) > maxText/7+1 {
		t.Errorf("%d entities from a long repetition, want those of the first %d bytes", len(got), maxText)
	}
	_ = fmt.Sprint()
}
