package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/webcare/webcare/internal/store"
)

var contactTests = []testCase{
	{"search by name, handle and external id", testContactSearch},
	{"list newest first with a cursor", testContactPages},
	{"merge moves identities and conversations", testContactMerge},
	{"merge refuses unknown and same contacts", testContactMergeErrors},
}

// people ingests one message per person and returns their contact ids.
func people(f *fixture, ch store.Channel, ps []struct{ ext, handle, name string }) []int64 {
	f.t.Helper()
	var out []int64
	for i, p := range ps {
		in := msg(ch, fmt.Sprintf("p%d", i), p.ext, at(i))
		in.Handle, in.Name = p.handle, p.name
		out = append(out, f.ingestOne(in).ContactID)
	}
	return out
}

func testContactSearch(f *fixture) {
	ch := f.channel("x", "X")
	c := people(f, ch, []struct{ ext, handle, name string }{
		{"id1", "@anna_dv", "Anna de Vries"},
		{"id2", "@annaXdv", "Annabel"},
		{"id3", "@bert", "100% Bert"},
		{"id4", "@b1000", "1000 Bert"},
		{"ext-carla", "@carla", "Carla"},
	})
	tests := []struct {
		query string
		want  []int64 // newest first
	}{
		{"Anna", []int64{c[1], c[0]}},
		{"anna", []int64{c[1], c[0]}},
		{"ANNABEL", []int64{c[1]}},
		{"@ANNA", []int64{c[1], c[0]}},
		{"@anna_", []int64{c[0]}}, // _ is an underscore, not any character
		{"100%", []int64{c[2]}},   // % is a percent sign, not anything
		{"100", []int64{c[3], c[2]}},
		{"@bert", []int64{c[2]}},
		{"ext-car", []int64{c[4]}},
		{"zoltan", []int64{}},
	}
	for _, tt := range tests {
		f.t.Run(tt.query, func(t *testing.T) {
			got, err := f.s.Contacts(f.ctx, store.ContactFilter{Query: tt.query})
			f.sub(t).check(err, "contacts")
			wantSlice(t, "contacts", contactIDs(got), tt.want)
			for _, c := range got {
				if len(c.Identities) != 1 {
					t.Errorf("contact %d listed with %d identities, want 1", c.ID, len(c.Identities))
				}
			}
		})
	}
}

func contactIDs(cs []store.Contact) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func testContactPages(f *fixture) {
	ch := f.channel("x", "X")
	var all []int64
	for i := range 7 {
		all = append(all, f.ingestOne(msg(ch, fmt.Sprintf("p%d", i), fmt.Sprintf("user%d", i), at(i))).ContactID)
	}
	slices.Reverse(all)

	got, err := f.s.Contacts(f.ctx, store.ContactFilter{})
	f.check(err, "contacts")
	wantSlice(f.t, "all contacts", contactIDs(got), all)

	var walked []int64
	filter := store.ContactFilter{Limit: 3}
	for range 10 {
		page, err := f.s.Contacts(f.ctx, filter)
		f.check(err, "page")
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			f.t.Fatalf("page of %d contacts, limit 3", len(page))
		}
		walked = append(walked, contactIDs(page)...)
		filter.After = page[len(page)-1].ID
	}
	wantSlice(f.t, "walked", walked, all)
}

func testContactMerge(f *fixture) {
	x := f.channel("x", "X")
	mail := f.channel("email", "Mail")
	a := f.ingestOne(msg(x, "p1", "anna", at(0)))
	in := msg(mail, "m1", "anna@example.com", at(1))
	in.Name, in.Language = "", "en"
	b := f.ingestOne(in)
	f.resolve(b.ConversationID)
	b2 := f.ingestOne(msg(mail, "m2", "anna@example.com", at(2)))
	if a.ContactID == b.ContactID || b.ConversationID == b2.ConversationID {
		f.t.Fatalf("before the merge: %+v, %+v, %+v; want two contacts and three conversations", a, b, b2)
	}

	f.check(f.s.MergeContacts(f.ctx, a.ContactID, b.ContactID, system), "merge")

	c := f.contact(a.ContactID)
	var got []string
	for _, id := range c.Identities {
		got = append(got, id.Platform+":"+id.ExternalID)
		want(f.t, "identity contact", id.ContactID, a.ContactID)
	}
	slices.Sort(got)
	wantSlice(f.t, "identities", got, []string{"email:anna@example.com", "x:anna"})
	want(f.t, "name", c.Name, "Name anna")

	_, err := f.s.Contact(f.ctx, b.ContactID)
	f.wantErr("merged contact", err, store.ErrNotFound)
	for _, id := range []int64{a.ConversationID, b.ConversationID, b2.ConversationID} {
		want(f.t, fmt.Sprintf("contact of conversation %d", id), f.conversation(id).ContactID, a.ContactID)
	}
	n, err := f.s.CountConversations(f.ctx, store.ConversationFilter{ContactID: a.ContactID})
	f.check(err, "count")
	want(f.t, "conversations of the merged contact", n, 3)
	n, err = f.s.CountConversations(f.ctx, store.ConversationFilter{ContactID: b.ContactID})
	f.check(err, "count")
	want(f.t, "conversations of the gone contact", n, 0)
	list, err := f.s.Contacts(f.ctx, store.ContactFilter{})
	f.check(err, "contacts")
	wantSlice(f.t, "contacts", contactIDs(list), []int64{a.ContactID})

	// The moved identity now leads to the merged contact and its open
	// conversation on that channel.
	r := f.ingestOne(msg(mail, "m3", "anna@example.com", at(3)))
	want(f.t, "contact of a new message", r.ContactID, a.ContactID)
	if r.NewContact {
		f.t.Error("a message from a merged identity created a contact")
	}
	want(f.t, "conversation of a new message", r.ConversationID, b2.ConversationID)
}

func testContactMergeErrors(f *fixture) {
	ch := f.channel("x", "X")
	a := f.ingestOne(msg(ch, "p1", "anna", at(0)))
	tests := []struct {
		name     string
		into     int64
		from     int64
		wantErr  error
		survives int64
	}{
		{"unknown source", a.ContactID, 4242, store.ErrNotFound, a.ContactID},
		{"unknown target", 4242, a.ContactID, store.ErrNotFound, a.ContactID},
		{"into itself", a.ContactID, a.ContactID, store.ErrConflict, a.ContactID},
	}
	for _, tt := range tests {
		f.t.Run(tt.name, func(t *testing.T) {
			f := f.sub(t)
			f.wantErr("merge", f.s.MergeContacts(f.ctx, tt.into, tt.from, system), tt.wantErr)
			c := f.contact(tt.survives)
			want(t, "identities", len(c.Identities), 1)
			want(t, "conversation contact", f.conversation(a.ConversationID).ContactID, a.ContactID)
		})
	}
}
