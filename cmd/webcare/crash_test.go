package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// buildBinary compiles webcare once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "webcare-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "webcare")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped with -short")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// server is a running webcare process.
type server struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

// startServer runs `webcare serve` on a free port and waits until it listens.
func startServer(t *testing.T, bin, db string) *server {
	t.Helper()
	return startServerEnv(t, bin, append(os.Environ(), "WEBCARE_LOG_LEVEL=info"), "serve", "--addr", "127.0.0.1:0", "--db", db)
}

// startServerEnv runs webcare with args and env and waits until it listens.
func startServerEnv(t *testing.T, bin string, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &bytes.Buffer{}}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addrRE := regexp.MustCompile(`msg="webcare listening" addr=(\S+)`)
	found := make(chan string, 1)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case s.addr = <-found:
	case <-time.After(30 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("server did not start listening; log:\n%s", s.logs)
	}
	return s
}

// post sends one message to the API channel and reports the HTTP status.
func post(client *http.Client, base string, channel int, token, id string) (int, []byte, error) {
	body, _ := json.Marshal(map[string]any{"id": id, "from": map[string]string{"id": "crash-" + id[len(id)-1:], "name": "Crash Tester"},
		"text": "Is my flight HN641 still on time? (" + id + ")"})
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/api/v1/channels/%d/messages", base, channel), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// TestKillNineLosesNoAcknowledgedMessage streams messages into a real
// webcare process from many clients, kills it with SIGKILL mid-stream,
// starts it again on the same database and proves that every message it
// acknowledged is there: re-delivering each one is recognised as a duplicate.
func TestKillNineLosesNoAcknowledgedMessage(t *testing.T) {
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "crash.db")

	out, err := exec.Command(bin, "channel", "add", "--kind", "api", "--name", "Crash test", "--db", db).CombinedOutput()
	if err != nil {
		t.Fatalf("channel add: %v\n%s", err, out)
	}
	var channel int
	var token string
	if m := regexp.MustCompile(`\(id (\d+)\)`).FindSubmatch(out); m != nil {
		fmt.Sscan(string(m[1]), &channel)
	}
	if m := regexp.MustCompile(`ingest token:\s+(\S+)`).FindSubmatch(out); m != nil {
		token = string(m[1])
	}
	if channel == 0 || token == "" {
		t.Fatalf("could not read channel id and token from:\n%s", out)
	}

	srv := startServer(t, bin, db)
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		acked   sync.Map // platform id → true
		nAcked  atomic.Int64
		seq     atomic.Int64
		stopped atomic.Bool
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() && ctx.Err() == nil {
				id := fmt.Sprintf("crash-%06d", seq.Add(1))
				status, _, err := post(client, srv.addr, channel, token, id)
				if err != nil {
					continue // the process died under us: not acknowledged
				}
				if status == http.StatusCreated {
					acked.Store(id, true)
					nAcked.Add(1)
				}
			}
		}()
	}
	// Kill once a good stream is flowing, while requests are in flight.
	for nAcked.Load() < 1500 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	stopped.Store(true)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("stream too slow: only %d acknowledged before the deadline", nAcked.Load())
	}
	sent := seq.Load()
	t.Logf("killed after %d acknowledged of %d attempted messages", nAcked.Load(), sent)

	again := startServer(t, bin, db)
	var lost []string
	acked.Range(func(k, _ any) bool {
		id := k.(string)
		status, body, err := post(client, again.addr, channel, token, id)
		if err != nil {
			t.Fatalf("re-delivering %s: %v", id, err)
		}
		if status != http.StatusOK || !strings.Contains(string(body), `"duplicate":true`) {
			lost = append(lost, fmt.Sprintf("%s (%d %s)", id, status, body))
		}
		return true
	})
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged messages were lost by the crash, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
}
