package mailtest

import (
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Faults make the server misbehave the way real mail servers now and then
// do, for reliability tests of a sender: slow final replies, temporary
// refusals (4xx), connections closed before the greeting, and connections
// closed after a message's body was received but before the 250. That last
// one is the case that makes duplicates: the server has the message (it is
// recorded and counted like any other), while the sender saw only a broken
// connection and must send it again.
//
// Every decision comes from random sources seeded with Seed. The faults of a
// transaction after MAIL are drawn at its RCPT from (Seed, recipient, how
// many RCPTs that recipient had before), so what happens to a recipient's
// k-th try does not depend on how concurrent connections interleave. Greeting
// drops and refusals of MAIL are drawn from one seeded stream in the order
// connections and commands arrive.
type Faults struct {
	Seed uint64
	// Delay: the final reply to DATA waits a random time up to Delay.
	Delay time.Duration
	// DropGreeting is the probability that a new connection is closed before
	// the server says anything.
	DropGreeting float64
	// TempFail is the probability of a 4xx reply, drawn on its own at MAIL
	// (421 or 451; after a 421 the server keeps the connection, which a
	// client closes anyway), at RCPT (450, 451 or 452), and as the final
	// reply to DATA (451; then nothing is recorded).
	TempFail float64
	// DropAfterBody is the probability that a received message, recorded,
	// gets a closed connection instead of its 250.
	DropAfterBody float64
}

// FaultCounts counts the faults a server injected.
type FaultCounts struct {
	GreetingDrops int // connections closed before the greeting
	MailTemp      int // 4xx replies to MAIL
	RcptTemp      int // 4xx replies to RCPT
	DataTemp      int // 4xx final replies to DATA (message not kept)
	BodyDrops     int // messages recorded, then the connection closed instead of 250
	Delays        int // final replies delayed
	DelayTotal    time.Duration
}

// TempFails is the number of 4xx replies of every step.
func (c FaultCounts) TempFails() int { return c.MailTemp + c.RcptTemp + c.DataTemp }

// Faults returns the faults injected so far (zero without ServerOptions.Faults).
func (s *Server) Faults() FaultCounts {
	if s.faults == nil {
		return FaultCounts{}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.counts
}

// errDropped is what Data returns after closing the connection; nobody reads
// it, since the reply cannot be written any more.
var errDropped = errors.New("mailtest: connection dropped after the body (fault)")

// txFaults is what the faults hold for one transaction, drawn at its RCPT.
type txFaults struct {
	dataTemp bool
	drop     bool
	delay    time.Duration
}

// faultState draws and counts faults; its methods do nothing on nil, so the
// hooks in the session cost one line each.
type faultState struct {
	f Faults

	mu     sync.Mutex
	stream *rand.Rand     // greeting drops and MAIL refusals, in arrival order
	tries  map[string]int // RCPTs so far, per recipient
	counts FaultCounts
}

func newFaultState(f Faults) *faultState {
	return &faultState{f: f, stream: rand.New(rand.NewPCG(f.Seed, 0x6d61696c74657374)), tries: map[string]int{}}
}

// dropGreeting reports whether a new connection is to be closed at once.
func (fs *faultState) dropGreeting() bool {
	if fs == nil || fs.f.DropGreeting <= 0 {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stream.Float64() >= fs.f.DropGreeting {
		return false
	}
	fs.counts.GreetingDrops++
	return true
}

// atMail returns a 4xx to answer MAIL with, or nil.
func (fs *faultState) atMail() error {
	if fs == nil || fs.f.TempFail <= 0 {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stream.Float64() >= fs.f.TempFail {
		return nil
	}
	fs.counts.MailTemp++
	return tempError(fs.stream, 451, 421)
}

// atRcpt draws the faults of the transaction now naming to: a 4xx to answer
// RCPT with, or what happens after its body.
func (fs *faultState) atRcpt(to string) (txFaults, error) {
	if fs == nil {
		return txFaults{}, nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	k := fs.tries[to]
	fs.tries[to] = k + 1
	h := fnv.New64a()
	h.Write([]byte(to + "\x00" + strconv.Itoa(k)))
	r := rand.New(rand.NewPCG(fs.f.Seed, h.Sum64()))
	// Draw everything, in a fixed order, whatever comes out: then one kind's
	// probability does not change the draws of the others.
	rcptTemp := r.Float64() < fs.f.TempFail
	tx := txFaults{dataTemp: r.Float64() < fs.f.TempFail, drop: r.Float64() < fs.f.DropAfterBody}
	if fs.f.Delay > 0 {
		tx.delay = time.Duration(r.Int64N(int64(fs.f.Delay) + 1))
	}
	if rcptTemp {
		fs.counts.RcptTemp++
		return txFaults{}, tempError(r, 450, 451, 452)
	}
	return tx, nil
}

// beforeReply waits the transaction's delay and returns a 4xx to answer its
// DATA with, or nil to go on and record the message.
func (fs *faultState) beforeReply(tx txFaults) error {
	if fs == nil {
		return nil
	}
	if tx.delay > 0 {
		time.Sleep(tx.delay)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if tx.delay > 0 {
		fs.counts.Delays++
		fs.counts.DelayTotal += tx.delay
	}
	if !tx.dataTemp {
		return nil
	}
	fs.counts.DataTemp++
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again (fault)"}
}

// dropAfterBody reports whether the connection is to be closed instead of
// answering a recorded message.
func (fs *faultState) dropAfterBody(tx txFaults) bool {
	if fs == nil || !tx.drop {
		return false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.counts.BodyDrops++
	return true
}

// tempError is a 4xx reply with one of codes, picked by r.
func tempError(r *rand.Rand, codes ...int) error {
	code := codes[r.IntN(len(codes))]
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "Try again later (fault " + strconv.Itoa(code) + ")"}
}
