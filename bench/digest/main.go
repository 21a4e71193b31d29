// Command digest measures the weekly digest send: N confirmed subscribers
// receive the issue through a loopback SMTP sink, next to the ceiling of a
// bare go-mail loop sending the same message into the same sink. See
// bench/README.md. Each phase runs in its own process so that its peak RSS is
// its own:
//
//	digest -phase populate -store URL -subscribers N [-stories 10]
//	digest -phase ceiling  -store URL -messages N
//	digest -phase send     -store URL
//	digest -phase sink     -addr-file F
//
// With -smtp HOST:PORT the ceiling and send phases use a sink running in
// another process (-phase sink), as a real mail server would be; without it,
// a sink in their own process, which shares their two cores.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

func main() {
	phase := flag.String("phase", "", "populate, ceiling or send")
	storeURL := flag.String("store", "", "store URL")
	subscribers := flag.Int("subscribers", 100000, "confirmed subscribers to add (populate)")
	stories := flag.Int("stories", 10, "stories of the week (populate; 10 make a ~10 KB issue)")
	messages := flag.Int("messages", 100000, "messages the ceiling sends")
	conns := flag.Int("connections", 4, "SMTP connections")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the send to this file")
	smtpAddr := flag.String("smtp", "", "HOST:PORT of a sink started with -phase sink (default: one in this process)")
	addrFile := flag.String("addr-file", "", "where -phase sink writes its address")
	flag.Parse()
	if *phase == "sink" {
		if err := runSink(*addrFile); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *storeURL == "" {
		log.Fatal("-store is required")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *storeURL)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	switch *phase {
	case "populate":
		err = populate(ctx, st, *subscribers, *stories)
	case "ceiling":
		err = ceiling(ctx, st, *messages, *conns, *smtpAddr)
	case "send":
		err = send(ctx, st, *conns, *cpuProfile, *smtpAddr)
	default:
		err = fmt.Errorf("unknown phase %q", *phase)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// keys are fixed, so that every phase opens the same addresses.
func keys() *secrets.Keys {
	k, err := secrets.New(bytes.Repeat([]byte("bench-key-"), 4))
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func service(st store.Store, tr mail.Transport) (*newsletter.Service, error) {
	return newsletter.NewService(newsletter.Options{
		Store: st, Stories: st, Keys: keys(), Mail: tr,
		SiteName: "Tidings", BaseURL: "https://news.example.org", From: "Tidings <digest@news.example.org>",
	})
}

// populate adds the week's stories, composes the issue and imports the
// subscribers through the import path (a generated CSV, streamed).
func populate(ctx context.Context, st store.Store, n, nStories int) error {
	// Five sources: an issue takes at most two stories from one.
	var srcs []feeds.Source
	for i := range 5 {
		src, err := st.AddSource(ctx, feeds.Source{URL: fmt.Sprintf("https://desk%d.example.org/feed.xml", i), Title: fmt.Sprintf("Privacy Desk %d", i), OnTopic: true})
		if err != nil {
			return err
		}
		srcs = append(srcs, src)
	}
	now := time.Now().UTC()
	var sts []feeds.Story
	for i := range nStories {
		at := now.Add(-time.Duration(i+1) * 11 * time.Hour)
		sts = append(sts, feeds.Story{
			SourceID: srcs[i%len(srcs)].ID, GUID: fmt.Sprintf("bench-%d", i), URL: fmt.Sprintf("https://desk.example.org/2026/story-%d", i),
			Title:       fmt.Sprintf("Regulators Question Data Broker Number %d Over Location Sales", i+1),
			Summary:     strings.Repeat("Investigators say the company sold precise location histories gathered from apps without consent. ", 2),
			PublishedAt: at, FirstSeenAt: at, Relevance: 0.9 - float64(i)/100, Tags: []string{"tracking", "regulation"}, Visible: true,
		})
	}
	if _, err := st.AddStories(ctx, sts); err != nil {
		return err
	}
	tr, err := mail.Open("", os.TempDir(), mail.Options{})
	if err != nil {
		return err
	}
	defer tr.Close()
	svc, err := service(st, tr)
	if err != nil {
		return err
	}
	is, err := svc.IssueFor(ctx, "")
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		for i := range n {
			fmt.Fprintf(w, "reader%07d@example.org\n", i)
		}
		w.Flush()
		pw.Close()
	}()
	start := time.Now()
	rep, err := svc.Import(ctx, pr, func(line int, err error) { log.Printf("line %d: %v", line, err) })
	if err != nil {
		return err
	}
	fmt.Printf("populate: %d subscribers imported in %.1f s; issue %s: HTML %d bytes, text %d bytes\n",
		rep.Added, time.Since(start).Seconds(), is.Week, len(is.HTML), len(is.Text))
	return nil
}

// ceiling sends the issue n times with a bare go-mail loop: a Msg built per
// message, over conns persistent connections, into a discarding sink.
func ceiling(ctx context.Context, st store.Store, n, conns int, smtpAddr string) error {
	is, err := currentIssue(ctx, st)
	if err != nil {
		return err
	}
	sink, err := openSink(smtpAddr)
	if err != nil {
		return err
	}
	defer sink.Close()
	host, portStr, _ := net.SplitHostPort(sink.Addr())
	port, _ := strconv.Atoi(portStr)
	html := strings.ReplaceAll(is.HTML, newsletter.UnsubscribePlaceholder, "https://news.example.org/unsubscribe?token=x")
	text := strings.ReplaceAll(is.Text, newsletter.UnsubscribePlaceholder, "https://news.example.org/unsubscribe?token=x")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start, cpu0 := time.Now(), cpuTime()
	for range conns {
		wg.Go(func() {
			c, err := gomail.NewClient(host, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithPort(port), gomail.WithHELO("localhost"))
			if err == nil {
				err = c.DialWithContext(ctx)
			}
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				m := gomail.NewMsg()
				if err := m.From("digest@news.example.org"); err != nil {
					errs <- err
					return
				}
				if err := m.To(fmt.Sprintf("reader%07d@example.org", i)); err != nil {
					errs <- err
					return
				}
				m.Subject(is.Subject)
				m.SetMessageIDWithValue(fmt.Sprintf("digest.%s.%d@news.example.org", is.Week, i))
				m.SetGenHeader("List-Unsubscribe", "<https://news.example.org/unsubscribe?token=x>")
				m.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
				m.SetBodyString(gomail.TypeTextPlain, text)
				m.AddAlternativeString(gomail.TypeTextHTML, html)
				if err := c.Send(m); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	d := time.Since(start)
	fmt.Printf("ceiling: %d messages in %.2f s = %.0f messages/s; CPU %.0f µs a message; peak RSS %d MB\n", n, d.Seconds(), float64(n)/d.Seconds(), perMessage(cpuTime()-cpu0, n), peakRSS())
	return nil
}

// send runs the real digest send of the stored issue into a discarding sink.
func send(ctx context.Context, st store.Store, conns int, profile, smtpAddr string) error {
	is, err := currentIssue(ctx, st)
	if err != nil {
		return err
	}
	sink, err := openSink(smtpAddr)
	if err != nil {
		return err
	}
	defer sink.Close()
	tr, err := mail.Open("smtp://"+sink.Addr()+"?tls=none", "", mail.Options{Connections: conns, Rate: -1})
	if err != nil {
		return err
	}
	defer tr.Close()
	svc, err := service(st, tr)
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start, cpu0 := time.Now(), cpuTime()
	rep, err := svc.Send(ctx, is.Week, newsletter.SendOptions{Workers: conns})
	if err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Printf("send: %d messages (%s) in %.2f s = %.0f messages/s; CPU %.0f µs a message; peak RSS %d MB; failed %d, pending %d\n",
		rep.Sent, sink.got(), d.Seconds(), float64(rep.Sent)/d.Seconds(), perMessage(cpuTime()-cpu0, rep.Sent), peakRSS(), rep.Failed, rep.Pending)
	return nil
}

func currentIssue(ctx context.Context, st store.Store) (newsletter.Issue, error) {
	issues, err := st.Issues(ctx, newsletter.IssueFilter{Limit: 1})
	if err != nil || len(issues) == 0 {
		return newsletter.Issue{}, fmt.Errorf("no issue stored; run -phase populate first (%v)", err)
	}
	return issues[0], nil
}

// peakRSS is the process's peak resident set size in MB.
// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perMessage is CPU time per message in µs, a figure that moves little when
// other programs share the machine, unlike messages/s.
func perMessage(cpu time.Duration, n int) float64 {
	return float64(cpu.Microseconds()) / float64(max(n, 1))
}

func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Maxrss / 1024 // kilobytes on Linux
}

// sink is where the phases send: a mailtest server in this process, or the
// address of one in another process.
type sink struct {
	srv  *mailtest.Server
	addr string
}

func openSink(addr string) (*sink, error) {
	if addr != "" {
		return &sink{addr: addr}, nil
	}
	srv, err := mailtest.Start(mailtest.ServerOptions{Discard: true})
	if err != nil {
		return nil, err
	}
	return &sink{srv: srv, addr: srv.Addr()}, nil
}

func (s *sink) Addr() string { return s.addr }

// got says how many messages the sink received, when it can tell.
func (s *sink) got() string {
	if s.srv == nil {
		return "sink in another process"
	}
	return fmt.Sprintf("sink got %d", s.srv.Count())
}

func (s *sink) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// runSink serves a discarding SMTP sink, writes its address to addrFile, and
// on SIGTERM or SIGINT prints how many messages it received and stops.
func runSink(addrFile string) error {
	srv, err := mailtest.Start(mailtest.ServerOptions{Discard: true})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := os.WriteFile(addrFile+".tmp", []byte(srv.Addr()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(addrFile+".tmp", addrFile); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	fmt.Printf("sink: received %d messages; CPU %.0f µs a message; peak RSS %d MB\n", srv.Count(), perMessage(cpuTime(), srv.Count()), peakRSS())
	return nil
}
