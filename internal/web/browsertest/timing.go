package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// timingScript reads the Performance API of the current page. Paint
// entries can come a frame after the load event, so it waits for one (up to
// 5 s) with a buffered observer, which also sees entries from before it.
const timingScript = `new Promise((resolve) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = () => {
    const all = performance.getEntriesByType("paint");
    const e = all.find((p) => p.name === "first-contentful-paint") || all.find((p) => p.name === "first-paint");
    return e ? e.startTime : -1;
  };
  const done = () => resolve({server: nav ? nav.responseStart - nav.requestStart : -1, paint: paint()});
  if (paint() >= 0) return done();
  const obs = new PerformanceObserver(() => { if (paint() >= 0) { obs.disconnect(); done(); } });
  obs.observe({type: "paint", buffered: true});
  setTimeout(() => { obs.disconnect(); done(); }, 5000);
})`

// Timing reports how fast the page in ctx (a Browser's Ctx) came: server is
// the navigation's responseStart − requestStart (the wait for the first
// byte of the document), paint the first-contentful-paint time (or
// first-paint) from the start of the navigation. Both come from the page's
// own Performance API. It fails if the page has no navigation entry or
// painted nothing within 5 s.
func Timing(ctx context.Context) (server, paint time.Duration, err error) {
	v, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Server float64 `json:"server"`
		Paint  float64 `json:"paint"`
	}](timingScript, chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, 0, fmt.Errorf("browsertest: timing: %w", err)
	}
	if v.Server < 0 {
		return 0, 0, errors.New("browsertest: timing: the page has no navigation entry")
	}
	if v.Paint < 0 {
		return 0, 0, errors.New("browsertest: timing: the page reported no paint within 5 s")
	}
	return ms(v.Server), ms(v.Paint), nil
}

// ms converts a DOMHighResTimeStamp (milliseconds, fractional) to a Duration.
func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// Screenshot saves a PNG of the whole page in ctx (a Browser's Ctx),
// beyond the window when the page is longer, to path, creating its
// directory.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}
