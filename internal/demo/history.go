package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/webcare/webcare/internal/store"
)

// seeder carries what Seed has made so far. It is used by one goroutine.
type seeder struct {
	st        store.Store
	now       time.Time
	r         *rand.Rand
	ids       idSource
	teams     map[string]int64
	agents    map[string]store.Agent // by key
	agentKeys []string               // in creation order, for deterministic choices
	byKind    map[string]store.Channel
	templates []store.Template
	regulars  []Regular
}

// history plays the hand-written stories, then customers made up from the
// corpus, through the same store calls the server would make.
func (s *seeder) history(ctx context.Context) error {
	all := append(stories(), s.generatedStories()...)
	for _, st := range all {
		if err := s.play(ctx, st); err != nil {
			return fmt.Errorf("demo: history of %s: %w", st.who.name, err)
		}
	}
	return nil
}

// played is what one seeded thread left behind.
type played struct {
	conversationID int64
	contactID      int64
	lastReplyID    string
}

// play seeds a customer's threads and merges the contacts their identities
// made into one profile, as an agent would.
func (s *seeder) play(ctx context.Context, st story) error {
	contactOf := map[string]int64{} // by platform
	var platforms []string
	var prev int64
	var regular *Regular
	for _, t := range st.threads {
		p, err := s.thread(ctx, st.who, t, prev)
		if err != nil {
			return err
		}
		ch := s.byKind[t.via]
		platform := platformOf(ch)
		if _, seen := contactOf[platform]; !seen {
			platforms = append(platforms, platform)
		}
		contactOf[platform] = p.contactID
		prev = p.conversationID
		if p.lastReplyID != "" {
			id := st.who.ids[t.via]
			regular = &Regular{
				ChannelID: ch.ID, Kind: ch.Kind, Platform: platform, ExternalID: id.externalID,
				Handle: id.handle, Name: id.name, Language: st.who.lang, Private: t.private, LastReplyID: p.lastReplyID,
			}
		}
	}
	into := contactOf[platforms[0]]
	for _, platform := range platforms[1:] {
		if from := contactOf[platform]; from != into {
			if err := s.st.MergeContacts(ctx, into, from, seedActor); err != nil {
				return fmt.Errorf("merge: %w", err)
			}
		}
	}
	if regular != nil {
		regular.ContactID = into
		s.regulars = append(s.regulars, *regular)
	}
	return nil
}

// thread seeds one conversation line by line, then sets where it stands.
func (s *seeder) thread(ctx context.Context, who persona, t thread, prev int64) (played, error) {
	var p played
	ch, ok := s.byKind[t.via]
	if !ok {
		return p, fmt.Errorf("no %s channel", t.via)
	}
	id, ok := who.ids[t.via]
	if !ok {
		return p, fmt.Errorf("no %s identity", t.via)
	}
	at := s.now.Add(-t.ago)
	var lastAgent store.Agent
	for i, l := range t.lines {
		at = at.Add(l.after)
		if !at.Before(s.now) {
			return p, fmt.Errorf("line %d would be in the future", i)
		}
		if l.out {
			a, ok := s.agents[l.agent]
			if !ok {
				return p, fmt.Errorf("line %d: no agent %q", i, l.agent)
			}
			body := fillTemplate(l.text, who.first, firstName(a.Name), p.conversationID)
			pid, err := s.reply(ctx, ch, t.private, p.conversationID, a.ID, body, at, i)
			if err != nil {
				return p, fmt.Errorf("line %d: %w", i, err)
			}
			p.lastReplyID, lastAgent = pid, a
			continue
		}
		in := store.Inbound{
			ChannelID: ch.ID, PlatformID: s.ids.message(ch.Kind, t.private, at, id.domain),
			Platform: platformOf(ch), ExternalID: id.externalID, Handle: id.handle, Name: id.name,
			Body: l.text, ReplyTo: p.lastReplyID, Private: t.private, Language: who.lang, Subject: t.subject,
			SentAt: at, ReceivedAt: at.Add(2 * time.Second), Processed: true,
		}
		res, err := s.st.Ingest(ctx, []store.Inbound{in})
		if err != nil {
			return p, fmt.Errorf("line %d: %w", i, err)
		}
		// Every line must land in the thread the story means; anything
		// else is a bug in the story or in threading.
		if i > 0 && res[0].ConversationID != p.conversationID {
			return p, fmt.Errorf("line %d went to conversation %d, not %d", i, res[0].ConversationID, p.conversationID)
		}
		p.conversationID, p.contactID = res[0].ConversationID, res[0].ContactID
	}
	if t.note != "" {
		if _, err := s.st.AddNote(ctx, p.conversationID, lastAgent.ID, t.note, minTime(at.Add(time.Minute), s.now)); err != nil {
			return p, fmt.Errorf("note: %w", err)
		}
	}
	return p, s.settle(ctx, who, t, p.conversationID, prev)
}

// settle gives a seeded conversation its team, tags, links and status.
func (s *seeder) settle(ctx context.Context, who persona, t thread, conv, prev int64) error {
	team := s.teamFor(who.lang)
	ch := store.ConversationChange{TeamID: &team}
	if len(t.tags) > 0 {
		tags := slices.Clone(t.tags)
		ch.Tags = &tags
	}
	if t.status != "" {
		status := t.status
		ch.Status = &status
	}
	if t.snooze > 0 {
		until := s.now.Add(t.snooze)
		ch.SnoozedUntil = &until
	}
	if t.assign != "" {
		assignee := s.agents[t.assign].ID
		ch.AssigneeID = &assignee
	}
	if t.linkPrev && prev != 0 {
		ch.LinkedID = &prev
		back := conv
		if _, err := s.st.UpdateConversation(ctx, prev, store.ConversationChange{LinkedID: &back}, seedActor); err != nil {
			return fmt.Errorf("link: %w", err)
		}
	}
	if _, err := s.st.UpdateConversation(ctx, conv, ch, seedActor); err != nil {
		return fmt.Errorf("settle conversation %d: %w", conv, err)
	}
	return nil
}

// reply queues an agent's answer and delivers it at once, the way the
// outbox worker would have done back then.
func (s *seeder) reply(ctx context.Context, ch store.Channel, private bool, conv, agentID int64, body string, at time.Time, line int) (string, error) {
	key := fmt.Sprintf("demo-seed-%d-%d", conv, line)
	_, entry, err := s.st.QueueReply(ctx, store.Reply{ConversationID: conv, AgentID: agentID, Body: body, IdempotencyKey: key, Now: at})
	if err != nil {
		return "", err
	}
	// Claiming counts the attempt, as the worker does. In a store being
	// seeded nothing else is due this early; were anything else claimed,
	// its lease (in the past) lets the real worker take it right away.
	if _, err := s.st.ClaimOutbox(ctx, at, time.Minute, 8); err != nil {
		return "", err
	}
	sent := at.Add(time.Duration(200+s.r.IntN(1500)) * time.Millisecond)
	pid := s.ids.message(ch.Kind, private, sent, "mail.heron.example")
	if err := s.st.DeliverOutbox(ctx, entry.ID, pid, sent); err != nil {
		return "", err
	}
	return pid, nil
}

func firstName(name string) string {
	first, _, _ := strings.Cut(name, " ")
	return first
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
