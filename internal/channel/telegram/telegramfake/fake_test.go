package telegramfake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// TestRefusals checks that the fake refuses what the Bot API refuses, in
// the Bot API's error shape.
func TestRefusals(t *testing.T) {
	f := New()
	defer f.Close()
	f.AddChat(42)
	api := f.URL() + "/bot" + f.Token + "/"
	multipartBody := func(fields map[string]string, fileField string, data []byte) (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		if fileField != "" {
			fw, _ := w.CreateFormFile(fileField, "x.jpg")
			_, _ = fw.Write(data)
		}
		_ = w.Close()
		return w.FormDataContentType(), buf.Bytes()
	}
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}
	tests := []struct {
		name, url, contentType, body string
		code                         int
		description                  string
	}{
		{"wrong token", f.URL() + "/bot1:nope/getMe", "application/json", `{}`, 401, "Unauthorized"},
		{"unknown method", api + "sendTelepathy", "application/json", `{}`, 404, "Not Found"},
		{"not JSON", api + "sendMessage", "application/json", `{"chat_id":`, 400, "Bad Request: can't parse JSON object"},
		{"empty text", api + "sendMessage", "application/json", `{"chat_id": 42, "text": ""}`, 400, "Bad Request: message text is empty"},
		{"text too long", api + "sendMessage", "application/json", `{"chat_id": 42, "text": "` + strings.Repeat("x", 4097) + `"}`, 400, "Bad Request: message is too long"},
		{"unknown chat", api + "sendMessage", "application/json", `{"chat_id": 43, "text": "hi"}`, 400, "Bad Request: chat not found"},
		{"reply to a missing message, strict", api + "sendMessage", "application/json", `{"chat_id": 42, "text": "hi", "reply_parameters": {"message_id": 9}}`, 400, "Bad Request: message to be replied not found"},
		{"unknown file", api + "getFile", "application/json", `{"file_id": "nope"}`, 400, "Bad Request: invalid file_id"},
		{"bad secret token", api + "setWebhook", "application/json", `{"url": "https://x.example/hooks/1", "secret_token": "a b"}`, 400, "Bad Request: secret token contains unallowed characters"},
		{"http webhook", api + "setWebhook", "application/json", `{"url": "http://x.example/hooks/1"}`, 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
	}
	ct, body := multipartBody(map[string]string{"chat_id": "42"}, "", nil)
	tests = append(tests, struct {
		name, url, contentType, body string
		code                         int
		description                  string
	}{"photo without the file", api + "sendPhoto", ct, string(body), 400, "Bad Request: there is no photo in the request"})
	ct, body = multipartBody(map[string]string{"chat_id": "42", "caption": strings.Repeat("é", 1025)}, "photo", jpeg)
	tests = append(tests, struct {
		name, url, contentType, body string
		code                         int
		description                  string
	}{"caption too long", api + "sendPhoto", ct, string(body), 400, "Bad Request: message caption is too long"})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(tt.url, tt.contentType, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				OK          bool   `json:"ok"`
				ErrorCode   int    `json:"error_code"`
				Description string `json:"description"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if resp.StatusCode != tt.code || got.OK || got.ErrorCode != tt.code || got.Description != tt.description {
				t.Fatalf("got %d %s", resp.StatusCode, raw)
			}
		})
	}
	if n := len(f.Sent()); n != 0 {
		t.Fatalf("%d messages sent by refused calls", n)
	}
}

func TestFlood(t *testing.T) {
	f := New()
	defer f.Close()
	f.FloodNext(1, 5)
	resp, err := http.Post(f.URL()+"/bot"+f.Token+"/getMe", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || !strings.Contains(string(raw), `"retry_after":5`) || resp.Header.Get("Retry-After") != "5" {
		t.Fatalf("got %d %s", resp.StatusCode, raw)
	}
	resp, err = http.Post(f.URL()+"/bot"+f.Token+"/getMe", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("second call %d", resp.StatusCode)
	}
	if reqs := f.Requests(); len(reqs) != 2 || reqs[0].Answer != 429 || reqs[1].Answer != 200 {
		t.Fatalf("requests %+v", reqs)
	}
}
