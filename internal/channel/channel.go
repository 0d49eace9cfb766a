// Package channel holds the adapter interface every platform package
// implements, and what is truly shared between them: the message shapes,
// the rules for files, the registry of the platforms a build speaks. What
// is true of one platform (its limits, its settings) lives in its own
// sub-package, on the Adapter its constructor returns.
package channel

import "slices"

// FileRule says which files a reply on a channel kind may carry. A zero
// rule allows none.
type FileRule struct {
	MaxFiles int
	MaxBytes int64    // per file
	Types    []string // MIME types, as sniffed from the bytes
}

// Allowed reports whether the rule lets any file through.
func (r FileRule) Allowed() bool { return r.MaxFiles > 0 }

// Accepts reports whether a file of this sniffed type may go.
func (r FileRule) Accepts(contentType string) bool { return slices.Contains(r.Types, contentType) }

// The types a browser can show safely, for FileRule.Types. Callers must
// not change them.
var (
	Images        = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}
	ImagesAndPDFs = slices.Clip(append(slices.Clone(Images), "application/pdf")) // clipped: an append elsewhere copies, never writes into the shared array
)

// IsImage reports whether a type is shown inline in the agent's thread;
// any other file is offered as a download.
func IsImage(contentType string) bool { return slices.Contains(Images, contentType) }
