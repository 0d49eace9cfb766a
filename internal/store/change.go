package store

import (
	"fmt"
	"strings"
	"time"
)

// Apply changes c as ch says and describes each change for the audit
// trail; no description means nothing changed. A snooze time is kept only
// while the conversation is snoozed, and resolving stops the wait clock.
// Every engine applies changes through it, so they cannot drift apart.
func (c *Conversation) Apply(ch ConversationChange) []string {
	var details []string
	if ch.Status != nil && *ch.Status != c.Status {
		details = append(details, fmt.Sprintf("status %s→%s", c.Status, *ch.Status))
		c.Status = *ch.Status
	}
	if c.Status == StatusSnoozed {
		if ch.SnoozedUntil != nil {
			t := *ch.SnoozedUntil
			c.SnoozedUntil = &t
			details = append(details, "snoozed until "+t.UTC().Format(time.RFC3339))
		}
	} else {
		c.SnoozedUntil = nil
	}
	if c.Status == StatusResolved {
		c.WaitingSince = nil
	}
	if ch.AssigneeID != nil && *ch.AssigneeID != c.AssigneeID {
		details = append(details, fmt.Sprintf("assignee %d→%d", c.AssigneeID, *ch.AssigneeID))
		c.AssigneeID = *ch.AssigneeID
	}
	if ch.TeamID != nil && *ch.TeamID != c.TeamID {
		details = append(details, fmt.Sprintf("team %d→%d", c.TeamID, *ch.TeamID))
		c.TeamID = *ch.TeamID
	}
	if ch.Priority != nil && *ch.Priority != c.Priority {
		details = append(details, fmt.Sprintf("priority %d→%d", c.Priority, *ch.Priority))
		c.Priority = *ch.Priority
	}
	if ch.Tags != nil {
		details = append(details, "tags "+strings.Join(*ch.Tags, ","))
		c.Tags = append([]string{}, *ch.Tags...)
	}
	if ch.LinkedID != nil && *ch.LinkedID != c.LinkedID {
		details = append(details, fmt.Sprintf("linked to %d", *ch.LinkedID))
		c.LinkedID = *ch.LinkedID
	}
	return details
}
