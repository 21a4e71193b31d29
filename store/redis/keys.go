package redis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Key layout. This comment is the one place it is written down; every key
// name is built by a function below.
//
// Every key starts with the store's prefix P (default "tidings:", from the
// URL's ?prefix=). Braces mark the hash tag: keys with the same tag live in
// the same cluster slot, so one Lua script or transaction may touch them all.
//
// Sources, tag {src} (few and small; every change is one script in this slot):
//
//	P{src}:next_id      STRING  counter for source IDs (INCR)
//	P{src}:by_url       HASH    source URL → ID; makes URLs unique
//	P{src}:ids          ZSET    every source ID, score = ID
//	P{src}:due          ZSET    unpaused source IDs, score = NextPollAt in Unix
//	                            seconds; a pre-filter for DueBy, the exact
//	                            comparison is made on the loaded source
//	P{src}:<id>         HASH    one source's fields (see sourceFields)
//
// ClaimDue is one script in this slot: it walks due up to now, checks each
// source's exact next_poll_at and paused, and moves the ones it takes to the
// lease's end in both the hash and due, so two processes never take one.
//
// Change announcements (views.Changes), a pub/sub channel, no key:
//
//	Pchanges            CHANNEL "pages changed": the publishing store's
//	                            random ID, so that it can skip its own
//	                            messages; plain PUBLISH/SUBSCRIBE, which a
//	                            cluster delivers to subscribers on any node
//
// Story index, tag {stories} (what must change together when a story is added):
//
//	P{stories}:next_id  STRING  counter for story IDs (INCR)
//	P{stories}:keys     HASH    dedupe key ("url:…", "guid:…") → story ID
//	P{stories}:<view>:all           ZSET  stories in the view
//	P{stories}:<view>:source:<id>   ZSET  … of one source (kept after the source goes)
//	P{stories}:<view>:tag:<tag>     ZSET  … with that tag
//	P{stories}:<view>:cluster:<id>  ZSET  … whose ClusterID is <id>
//
// where <view> is one of "any", "visible" (Visible set), "leaders" (ClusterID
// 0) and "visible-leaders" (both): a story is in every view it qualifies for.
// So each page of the site (home, topic, source, "also covered by", digest)
// reads one sorted set, and CountStories is one ZLEXCOUNT. Only a filter on
// two of source, tag and cluster at once intersects, by walking the smallest
// set inside one read-only script.
//
// Every story ZSET has score 0 and member "<PublishedAt>|<ID>": the time in
// the fixed-width UTC layout of timeLayout, the ID zero-padded to 19 digits.
// Members therefore sort by (PublishedAt, ID) byte by byte, and ZREVRANGEBYLEX
// gives the contract's order (newest first, then ID descending) exactly, to
// the nanosecond, which a float64 score could not; Since is a lex range.
//
// Search (feeds.Store.Search) over the titles and summaries of visible
// stories, with terms as feeds.IndexTerms makes them:
//
//	P{stories}:search:docs    HASH  story ID → "<length> <PublishedAt>": every
//	                                searchable story, its number of indexed
//	                                terms (for BM25) and its time (for ties)
//	P{stories}:search:tokens  STRING  sum of the lengths in docs (INCRBY)
//	Psearch:{<term>}          ZSET  postings: story ID → term frequency, a
//	                                title occurrence counting feeds.TitleWeight
//	P{search}:terms           ZSET  every indexed term, score 0: the dictionary
//	                                that expands the query's last term as a
//	                                prefix (ZRANGEBYLEX)
//
// Postings have a tag per term, so they spread over the cluster; a query
// reads them in pipelines, which go-redis splits by node. A story's postings
// and dictionary entries are written with its body, before its claim; the
// claim script adds it to docs in the same step that makes it reachable. A
// query keeps only postings whose ID is in docs, so a story is findable
// exactly when it is stored, and postings left by a lost claim or a crash are
// never seen. Adding to docs happens once (HSETNX guards the INCRBY), so a
// resent claim counts nothing twice; the ZADDs are idempotent too.
//
// Story bodies, one tag per story so they spread over the cluster:
//
//	Pstory:{<id>}       HASH    one story's fields (see storyFields)
//
// Other:
//
//	P{meta}:once        HASH    MarkOnce name → "<time> <token>" of the first call
//
// An AddStory writes the body (and search postings) first, then claims the dedupe keys and adds the
// index entries in one script in the {stories} slot. A body whose claim lost
// is deleted at once; a body left by a crash between the two steps is
// unreachable (no index or key names it) and harmless.
//
// Newsletter subscribers, tag {subs} (every change is one script in this slot):
//
//	P{subs}:next_id     STRING  counter for subscriber IDs (INCR)
//	P{subs}:by_index    HASH    blind index → ID; makes indexes unique
//	P{subs}:ids         ZSET    every subscriber ID, score = ID
//	P{subs}:status:<s>  ZSET    IDs with status <s> (pending, confirmed,
//	                            unsubscribed, bounced), score = ID
//	P{subs}:pending     ZSET    pending subscribers, score 0, member
//	                            "<CreatedAt>|<ID>" as in the story index, so
//	                            DeletePending reads "created before t" as an
//	                            exact lex range
//	P{subs}:erasing     ZSET    IDs whose subscriber hash is gone but whose
//	                            delivery records may not be yet, score = ID
//	P{subs}:<id>        HASH    one subscriber's fields (see subscriberFields);
//	                            sealed holds the raw ciphertext bytes
//
// Subscribers reads IDs with ZRANGEBYSCORE from "(AfterID" to +inf (LIMIT 0
// Limit) on ids or on a status set, then the hashes in one pipeline of
// HGETALL (SubscribersByID only the latter); CountSubscribers is four ZCARDs.
//
// Adding subscribers (AddSubscriber is a batch of one) takes, per chunk of
// 500: one HMGET of by_index to see which indexes are free, one INCRBY of
// next_id reserving their IDs, and one script that stores each whose index
// is still free and returns the holder's fields for the others. The script
// builds the names of the subscriber hashes it writes and reads from the
// prefix (they are in the {subs} slot like its declared keys).
//
// Erasing a subscriber (DeleteSubscriber, DeletePending) takes three steps,
// because its delivery records live in other slots: one script removes the
// hash and every index entry and adds the ID to erasing; then one script per
// issue removes its delivery record; then the ID leaves erasing. An erasure
// cut short stays in erasing: a repeated DeleteSubscriber of that ID, and
// every DeletePending, finishes it. The subscriber is gone from every read at
// the first step.
//
// Issues, tag {issues} (few; each write is one script in this slot):
//
//	P{issues}:weeks          ZSET  every issue's week, score 0: ZREVRANGEBYLEX
//	                               lists them newest first
//	P{issues}:started        ZSET  weeks whose send has started, score 0
//	P{issues}:issue:<week>   HASH  one issue's fields (see issueFields);
//	                               story_ids is a comma list of decimal IDs,
//	                               save_token the random token of the
//	                               SaveIssue that stored it (so a resent call
//	                               knows it won)
//
// Deliveries of one issue, tag {nl:<week>} (each issue's send has a slot of
// its own, so sends of different weeks spread over the cluster):
//
//	P{nl:<week>}:deliveries  HASH  subscriber ID → packed record (see
//	                               packDelivery)
//	P{nl:<week>}:ready       ZSET  pending deliveries claimable now, score =
//	                               subscriber ID
//	P{nl:<week>}:waiting     ZSET  pending deliveries with a NotBefore (a
//	                               claim's lease or a retry's back-off), score
//	                               = NotBefore in Unix milliseconds, rounded
//	                               down
//	P{nl:<week>}:counts      HASH  state → number of deliveries in it
//
// A pending delivery is in exactly one of ready and waiting. The claim script
// first moves every waiting delivery whose NotBefore has passed to ready
// (the score is a pre-filter; the exact test compares the record's time
// text byte by byte), then takes the lowest IDs of ready, rewrites their owner and
// NotBefore, and moves them to waiting at the lease's end: several processes
// never claim one delivery while its lease runs. Finishing deliveries (one
// script for up to 1,000 of one week) rewrites each record, takes it out of
// both sets or puts a retry back in waiting (or ready when its NotBefore is
// zero), and then adjusts counts once per state.
//
// Leases, one key each:
//
//	Please:<name>       STRING  the owner's name, expiring with the lease (PX)
//
// One script per call reads the owner first: it sets the key when free,
// extends it (PEXPIRE) only for its owner, and deletes it only for its owner.
// The server's clock ends a lease.
//
// Comments, tag {comments} (every change is one script in this slot, so
// that a comment and all its index entries always agree):
//
//	P{comments}:next_id            STRING  counter for comment IDs (INCR)
//	P{comments}:<id>               HASH    one comment's fields (see
//	                                       commentFields); email_sealed holds
//	                                       the raw ciphertext bytes
//	P{comments}:status:<s>         ZSET    IDs with status <s> (pending,
//	                                       approved, spam, rejected), score = ID
//	P{comments}:story:<story>:<s>  ZSET    the IDs of one story's comments
//	                                       with status <s>, score = ID
//	P{comments}:returning          HASH    "<len(index)>:<index><author>" →
//	                                       number of approved comments by that
//	                                       email index and exact author name;
//	                                       the field goes at 0
//	P{comments}:ip:<ip hash>       ZSET    that client's comments, score 0,
//	                                       member "<CreatedAt>|<ID>" as in the
//	                                       story index
//	P{comments}:with_ip            ZSET    every comment that still has an IP
//	                                       hash, member as in ip:<ip hash>
//	P{comments}:add:<token>        STRING  ID stored by the AddComment call
//	                                       with that random token; expires
//	                                       after ten minutes
//
// Comments reads, in one script, the status sets the filter names (of the
// story, or the global ones) from "(AfterID" with LIMIT, merges them by ID
// and returns the hashes; with IDs it reads those hashes in one pipeline
// and checks the rest of the filter on them. CountApproved is one ZCARD of
// story:<story>:approved per story, HasApproved one HEXISTS of returning,
// CountRecent one ZLEXCOUNT of ip:<ip hash> from "[<since>", all exact to
// the nanosecond. ForgetIPs walks with_ip below "(<before>" in chunks of
// 1,000 and erases each comment's hash field and ip entry.
//
// AddComment is one script: it takes the ID with INCR and writes the hash
// and every index entry, so IDs become visible in ascending order; it also
// sets add:<token>, so a resent call (reply lost) returns the ID the first
// one took and stores nothing twice. SetStatus is one script that compares
// the stored status with the one the change starts from and only then moves
// the ID between sets, adjusts returning and stamps moderated_at. The
// scripts that change a comment read its story and IP hash from the hash and
// build the names of story:… and ip:… keys (in the same slot) from prefixes
// given by the functions below; AddComment's script likewise names the hash.
type keys struct{ p string }

func (k keys) srcNextID() string { return k.p + "{src}:next_id" }
func (k keys) srcByURL() string  { return k.p + "{src}:by_url" }
func (k keys) srcIDs() string    { return k.p + "{src}:ids" }
func (k keys) srcDue() string    { return k.p + "{src}:due" }
func (k keys) source(id int64) string {
	return k.p + "{src}:" + strconv.FormatInt(id, 10)
}

func (k keys) storyNextID() string { return k.p + "{stories}:next_id" }
func (k keys) storyKeys() string   { return k.p + "{stories}:keys" }

// Views of the story index, see above.
const (
	viewAny            = "any"
	viewVisible        = "visible"
	viewLeaders        = "leaders"
	viewVisibleLeaders = "visible-leaders"
)

func (k keys) storiesAll(view string) string { return k.p + "{stories}:" + view + ":all" }
func (k keys) storiesBySource(view string, id int64) string {
	return k.p + "{stories}:" + view + ":source:" + strconv.FormatInt(id, 10)
}
func (k keys) storiesByTag(view, tag string) string {
	return k.p + "{stories}:" + view + ":tag:" + tag
}
func (k keys) storiesByCluster(view string, id int64) string {
	return k.p + "{stories}:" + view + ":cluster:" + strconv.FormatInt(id, 10)
}

func (k keys) searchDocs() string   { return k.p + "{stories}:search:docs" }
func (k keys) searchTokens() string { return k.p + "{stories}:search:tokens" }
func (k keys) searchTerms() string  { return k.p + "{search}:terms" }

// postings is the key of a term's postings; terms hold only letters and
// digits, so a term cannot close the hash tag early.
func (k keys) postings(term string) string { return k.p + "search:{" + term + "}" }

func (k keys) story(id int64) string { return k.p + "story:{" + strconv.FormatInt(id, 10) + "}" }

func (k keys) once() string { return k.p + "{meta}:once" }

func (k keys) subNextID() string  { return k.p + "{subs}:next_id" }
func (k keys) subByIndex() string { return k.p + "{subs}:by_index" }
func (k keys) subIDs() string     { return k.p + "{subs}:ids" }
func (k keys) subPending() string { return k.p + "{subs}:pending" }
func (k keys) subErasing() string { return k.p + "{subs}:erasing" }

// subStatus is the ID set of one status; the caller checks it is valid.
func (k keys) subStatus(status string) string { return k.p + "{subs}:status:" + status }
func (k keys) subscriber(id int64) string {
	return k.subscriberPrefix() + strconv.FormatInt(id, 10)
}

// subscriberPrefix is the name of a subscriber's hash without its ID, for
// the script that adds subscribers and names their hashes itself.
func (k keys) subscriberPrefix() string { return k.p + "{subs}:" }

func (k keys) issueWeeks() string       { return k.p + "{issues}:weeks" }
func (k keys) issueStarted() string     { return k.p + "{issues}:started" }
func (k keys) issue(week string) string { return k.p + "{issues}:issue:" + week }

// The keys of one week's deliveries. A week holding a brace still gives the
// same hash tag to all four, which is all the scripts need.
func (k keys) deliveries(week string) string { return k.p + "{nl:" + week + "}:deliveries" }
func (k keys) ready(week string) string      { return k.p + "{nl:" + week + "}:ready" }
func (k keys) waiting(week string) string    { return k.p + "{nl:" + week + "}:waiting" }
func (k keys) counts(week string) string     { return k.p + "{nl:" + week + "}:counts" }

func (k keys) lease(name string) string { return k.p + "lease:" + name }

// timeLayout is fixed-width, so byte order equals time order for years 1–9999.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// member is a story's entry in the story ZSETs.
func member(published time.Time, id int64) string {
	return fmt.Sprintf("%s|%019d", formatTime(published), id)
}

// memberID reads the story ID back from a member.
func memberID(m string) (int64, error) {
	i := strings.LastIndexByte(m, '|')
	id, err := strconv.ParseInt(m[i+1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("story index member %q: %w", m, err)
	}
	return id, nil
}

// sinceBound is the ZREVRANGEBYLEX lower bound for PublishedAt ≥ t: every
// member of that time or later sorts at or after the bare time text.
func sinceBound(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return "[" + formatTime(t)
}

func (k keys) commentNextID() string    { return k.p + "{comments}:next_id" }
func (k keys) commentReturning() string { return k.p + "{comments}:returning" }
func (k keys) commentWithIP() string    { return k.p + "{comments}:with_ip" }

// commentPrefix is the name of a comment's hash without its ID, for the
// scripts that name comment hashes themselves.
func (k keys) commentPrefix() string { return k.p + "{comments}:" }
func (k keys) comment(id int64) string {
	return k.commentPrefix() + strconv.FormatInt(id, 10)
}

// commentStatus is the global ID set of one status; the caller checks it is
// valid.
func (k keys) commentStatus(status string) string { return k.p + "{comments}:status:" + status }

// commentStoryPrefix starts the name of every per-story set; the scripts
// append "<story>:<status>" as commentStory does.
func (k keys) commentStoryPrefix() string { return k.p + "{comments}:story:" }
func (k keys) commentStory(storyID int64, status string) string {
	return k.commentStoryPrefix() + strconv.FormatInt(storyID, 10) + ":" + status
}

// commentIPPrefix starts the name of every client's set; the scripts append
// the IP hash as commentIP does. Braces in an IP hash cannot move the key to
// another slot: the first {…} of a name is its hash tag.
func (k keys) commentIPPrefix() string             { return k.p + "{comments}:ip:" }
func (k keys) commentIP(ipHash string) string      { return k.commentIPPrefix() + ipHash }
func (k keys) commentAddToken(token string) string { return k.p + "{comments}:add:" + token }

// Admin, tag {admin} (few keys; one slot keeps them together):
//
//	P{admin}:password           STRING  the argon2id hash (PHC string) of the
//	                                    admin password
//	P{admin}:session:<id>       HASH    one session (created, seen, expires,
//	                                    password fingerprint) by the hex
//	                                    SHA-256 of its token; its TTL runs to
//	                                    the session's end and is renewed on use
//	P{admin}:failures:<client>  ZSET    failed logins of one client (a keyed
//	                                    hash of its address), score 0, member
//	                                    "<time>|<random>"; ZLEXCOUNT from
//	                                    "[<since>" counts them, and the key
//	                                    expires FailureWindow after the last
//
// The first {…} of a name is its hash tag, so no ID or client hash can
// move a key out of the slot.
func (k keys) adminPassword() string              { return k.p + "{admin}:password" }
func (k keys) adminSession(id string) string      { return k.p + "{admin}:session:" + id }
func (k keys) adminFailures(client string) string { return k.p + "{admin}:failures:" + client }
