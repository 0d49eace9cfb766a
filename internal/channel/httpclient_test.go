package channel_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/webcare/webcare/internal/channel"
)

func TestHTTPClientKeepsPostsWhereTheyWent(t *testing.T) {
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.Method+" "+r.URL.Path)
		if r.URL.Path != "/end" {
			http.Redirect(w, r, "/end", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := channel.HTTPClient(nil)
	resp, err := c.Post(srv.URL+"/post", "text/plain", strings.NewReader("reply"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("a redirected POST answered %d, want the 302 itself", resp.StatusCode)
	}
	resp, err = c.Get(srv.URL + "/get")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Join(hits, ",") != "POST /post,GET /get,GET /end" {
		t.Errorf("GET %d, hits %v", resp.StatusCode, hits)
	}
}
