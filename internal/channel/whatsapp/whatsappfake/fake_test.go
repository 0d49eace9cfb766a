package whatsappfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/channel/whatsapp/whatsappfake"
)

// The fake holds requests to the documented format, the way the real API
// refuses them: with Meta's error object.
func TestFakeChecksRequests(t *testing.T) {
	f := whatsappfake.New()
	defer f.Close()
	base := f.Settings()["api_base"]
	msgs := base + "/" + f.PhoneNumberID + "/messages"
	tests := []struct {
		name, url, token, ctype, body string
		status, code                  int
	}{
		{"valid text", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","recipient_type":"individual","to":"31612345678","type":"text","text":{"body":"hi"}}`, 200, 0},
		{"no token", msgs, "", "application/json", `{}`, 401, 190},
		{"wrong token", msgs, "old", "application/json", `{}`, 401, 190},
		{"form instead of JSON", msgs, f.AccessToken, "application/x-www-form-urlencoded", `to=1`, 400, 100},
		{"no messaging_product", msgs, f.AccessToken, "application/json", `{"to":"1","type":"text","text":{"body":"hi"}}`, 400, 100},
		{"no recipient", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}`, 400, 100},
		{"empty body", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":""}}`, 400, 100},
		{"text too long", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"` + strings.Repeat("x", 4097) + `"}}`, 400, 100},
		{"unknown media", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","to":"1","type":"image","image":{"id":"404"}}`, 400, 131053},
		{"unsupported type", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","to":"1","type":"hologram"}`, 400, 131051},
		{"empty context", msgs, f.AccessToken, "application/json", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"x"},"context":{}}`, 400, 131009},
		{"other phone number", base + "/1/messages", f.AccessToken, "application/json", `{}`, 400, 100},
		{"upload not multipart", base + "/" + f.PhoneNumberID + "/media", f.AccessToken, "application/json", `{}`, 400, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tt.url, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code == 0 {
				return
			}
			var e struct {
				Error struct {
					Message   string `json:"message"`
					Type      string `json:"type"`
					Code      int    `json:"code"`
					FBTraceID string `json:"fbtrace_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tt.code || e.Error.Message == "" || e.Error.Type == "" || e.Error.FBTraceID == "" {
				t.Errorf("error object %s, want code %d", body, tt.code)
			}
		})
	}
	if n := len(f.Requests()); n != len(tests) {
		t.Errorf("%d requests recorded, want %d", n, len(tests))
	}
	if s := f.Sent(); len(s) != 1 || s[0].Text != "hi" {
		t.Errorf("sent %+v", s)
	}
}

func TestFakeFailNext(t *testing.T) {
	f := whatsappfake.New()
	defer f.Close()
	f.FailNext(2, whatsappfake.RateLimited(1))
	url := f.Settings()["api_base"] + "/" + f.PhoneNumberID
	for i, want := range []int{429, 429, 200} {
		req, _ := http.NewRequest(http.MethodGet, url+"?fields=display_phone_number,verified_name", nil)
		req.Header.Set("Authorization", "Bearer "+f.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("call %d: %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && !strings.Contains(resp.Header.Get("X-Business-Use-Case-Usage"), "estimated_time_to_regain_access") {
			t.Errorf("call %d: no usage header", i)
		}
	}
}
