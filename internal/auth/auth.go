// Package auth hashes passwords, makes and checks secret tokens, and says
// which role may do what. It knows nothing about HTTP.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/webcare/webcare/internal/store"
)

// Argon2id parameters: OWASP's second recommended set (19 MiB, t=2, p=1),
// about 90 ms on a 2-core machine, cheap enough for a login.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// ErrBadPassword means a password did not match its hash.
var ErrBadPassword = errors.New("wrong password")

// HashPassword returns a PHC-formatted argon2id hash of password.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("password must be at least %d characters", MinPasswordLength)
	}
	if len(password) > 1024 {
		return "", errors.New("password must be at most 1024 characters")
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword compares password with a hash made by HashPassword. An empty
// hash (an agent who never set a password) never matches.
func CheckPassword(hash, password string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return ErrBadPassword
	}
	var version int
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return ErrBadPassword
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return ErrBadPassword
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return ErrBadPassword
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrBadPassword
	}
	return nil
}

// NewToken returns a random secret with a readable prefix ("wcs_" for a
// session, "wct_" for an API token, "wch_" for a channel) and its hash,
// which is all that is stored.
func NewToken(prefix string) (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token. Tokens are long random strings,
// so a fast hash is enough.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Permission is something a role may or may not do.
type Permission string

// Permissions, checked on every endpoint.
const (
	ReadConversations  Permission = "conversations.read"   // all conversations, not only own
	WorkConversations  Permission = "conversations.work"   // reply, note, status on visible ones
	AssignOthers       Permission = "conversations.assign" // assign to anyone, not only self
	ReadContacts       Permission = "contacts.read"        // browse and search contacts
	ManageContacts     Permission = "contacts.manage"      // merge contacts
	ReadDirectory      Permission = "directory.read"       // list agents, teams, channels, templates
	ManageTemplates    Permission = "templates.manage"
	ManageTeams        Permission = "teams.manage"
	ManageAgents       Permission = "agents.manage"
	ManageChannels     Permission = "channels.manage"
	ReadAudit          Permission = "audit.read"
	ManageOwnAPITokens Permission = "tokens.own"
	ManageAllAPITokens Permission = "tokens.all"
	ReadEvents         Permission = "events.read"
	ReadAssignedOnly   Permission = "conversations.assigned" // sees only what is assigned to them
	SuperviseQueues    Permission = "queues.supervise"       // queue figures and every agent's load
)

var grants = map[store.Role][]Permission{
	store.RoleAdmin: {ReadConversations, WorkConversations, AssignOthers, ReadContacts, ManageContacts, ReadDirectory,
		ManageTemplates, ManageTeams, ManageAgents, ManageChannels, ReadAudit, ManageOwnAPITokens, ManageAllAPITokens, ReadEvents, SuperviseQueues},
	store.RoleSupervisor: {ReadConversations, WorkConversations, AssignOthers, ReadContacts, ManageContacts, ReadDirectory,
		ManageTemplates, ManageTeams, ReadAudit, ManageOwnAPITokens, ReadEvents, SuperviseQueues},
	store.RoleAgent: {ReadConversations, WorkConversations, ReadContacts, ReadDirectory, ManageOwnAPITokens, ReadEvents},
	// Volunteers help in a crisis: they answer, but do not browse the
	// contact base or change the set-up.
	store.RoleVolunteer: {ReadConversations, WorkConversations, ReadDirectory, ReadEvents},
	// Field staff see only what is forwarded (assigned) to them.
	store.RoleField: {ReadAssignedOnly, WorkConversations},
}

// Can reports whether role has permission p.
func Can(role store.Role, p Permission) bool {
	for _, g := range grants[role] {
		if g == p {
			return true
		}
	}
	return false
}
