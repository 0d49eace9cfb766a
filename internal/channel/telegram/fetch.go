package telegram

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/webcare/webcare/internal/channel"
	"github.com/webcare/webcare/internal/store"
)

// Fetcher downloads files customers sent: getFile turns the file_id
// (File.Ref) into a file_path, valid for at least an hour, which is then
// downloaded from {api_base}/file/bot<token>/<file_path>. Bots may
// download files up to 20 MB.
type Fetcher struct {
	API *API
}

var _ channel.Fetcher = (*Fetcher)(nil)

// FileInfo is the Bot API's File object: where getFile put a file.
type FileInfo struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size,omitempty"`
	FilePath string `json:"file_path,omitempty"`
}

// Fetch downloads one file by its file_id. The name is the last part of
// the file_path (Telegram keeps no original name for photos; a document's
// name is already in the File that pointed here).
func (f *Fetcher) Fetch(ctx context.Context, ch store.Channel, ref string) (string, []byte, error) {
	if ref == "" {
		return "", nil, fmt.Errorf("telegram getFile: empty file_id")
	}
	var tf FileInfo
	if err := f.API.CallJSON(ctx, ch.Settings, "getFile", map[string]string{"file_id": ref}, &tf); err != nil {
		return "", nil, err
	}
	if tf.FileSize > DownloadLimit {
		return "", nil, fmt.Errorf("telegram file is %d bytes; webcare downloads at most %d", tf.FileSize, DownloadLimit)
	}
	if tf.FilePath == "" || strings.Contains(tf.FilePath, "..") {
		return "", nil, fmt.Errorf("telegram getFile gave no usable file_path")
	}
	tok, err := token(ch.Settings)
	if err != nil {
		return "", nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base(ch.Settings)+"/file/bot"+tok+"/"+strings.TrimPrefix(tf.FilePath, "/"), nil)
	if err != nil {
		return "", nil, fmt.Errorf("telegram file download: %w", redact(err, tok))
	}
	resp, err := f.API.Client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("telegram file download: %w", redact(err, tok))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("telegram file download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, DownloadLimit+1))
	if err != nil {
		return "", nil, fmt.Errorf("telegram file download: %w", redact(err, tok))
	}
	if len(data) > DownloadLimit {
		return "", nil, fmt.Errorf("telegram file is larger than %d bytes", DownloadLimit)
	}
	return path.Base(tf.FilePath), data, nil
}
