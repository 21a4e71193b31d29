package views

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes registers every route of the site, grouped by who may call it.
func (s *Server) routes() {
	e := s.echo
	// No gzip middleware: cached pages carry a gzipped copy made once, every
	// other page (error pages too) is compressed by render, and /metrics
	// compresses itself.
	e.Pre(securityHeaders, adminHeaders)
	// Every POST route below gets the form guard: size cap, cross-origin
	// check, CSRF token (see csrf.go for the one exemption).
	e.Use(s.formGuard)

	// Operations.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.opts.Metrics, promhttp.HandlerOpts{})))

	// Public pages, all served from the page cache.
	s.page("/", s.home)
	s.page("/stories/:id", s.story)
	s.page("/stories/:id/:slug", s.story)
	s.page("/topics/:tag", s.topic)
	s.page("/sources/:id", s.source)
	s.page("/feed.xml", s.syndicate(formatRSS))
	s.page("/atom.xml", s.syndicate(formatAtom))
	s.page("/feed.json", s.syndicate(formatJSON))
	s.page("/topics/:tag/feed.xml", s.syndicate(formatRSS))
	s.page("/topics/:tag/atom.xml", s.syndicate(formatAtom))
	s.page("/topics/:tag/feed.json", s.syndicate(formatJSON))
	s.page("/sitemap.xml", s.sitemap)
	s.page("/robots.txt", s.robots)
	s.page("/subscribe", s.subscribeForm)
	s.page("/newsletter", s.archive)
	s.page("/newsletter/:week", s.issue)
	// Search is not cached: queries are as many as readers make up.
	e.GET("/search", s.search)
	e.GET(stylePath, s.style)
	// Newsletter sign-up, by anyone; the answers are never cached.
	e.POST("/subscribe", s.subscribe)

	// Token holders: the links in confirmation mails and digests. A GET
	// only shows a button (mail scanners follow links); the POST acts.
	get := []string{http.MethodGet, http.MethodHead}
	e.Match(get, "/subscribe/confirm", s.confirmPage)
	e.POST("/subscribe/confirm", s.confirm)
	e.Match(get, "/unsubscribe", s.unsubscribePage)
	e.POST("/unsubscribe", s.unsubscribe) // also RFC 8058 one-click

	// Comments: the feed of each story's discussion (cached; 404 on a site
	// without comments), the form under each story, and the link in reply
	// notifications (a GET shows a button; the POST, also RFC 8058
	// one-click, acts).
	s.page("/stories/:id/comments.xml", s.commentFeed)
	if s.opts.Comments != nil {
		e.POST("/stories/:id/comments", s.postComment)
		e.Match(get, "/comments/stop", s.stopNotifyPage)
		e.POST("/comments/stop", s.stopNotify)
	}

	// Admin: the login form, then pages for a logged-in administrator
	// only (a GET without a session goes to the login, anything else gets
	// 401). Never cached, never indexed (adminHeaders); their forms pass the
	// form guard like every other. Without an admin service, all are 404.
	if s.opts.Admin != nil {
		e.Match(get, "/admin", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/admin/") })
		e.Match(get, loginPath, s.loginForm)
		e.POST(loginPath, s.login)
		e.Match(get, "/admin/", s.dashboard, s.signedIn)
		e.POST("/admin/logout", s.logout, s.signedIn)
		if s.moderation() != nil {
			e.Match(get, "/admin/comments", s.moderationQueue, s.signedIn)
			e.POST("/admin/comments", s.moderate, s.signedIn)
		}
		e.Match(get, "/admin/feeds", s.feedsAdmin, s.signedIn)
		e.POST("/admin/feeds", s.changeFeed, s.signedIn)
		e.POST("/admin/feeds/add", s.addFeed, s.signedIn)
		e.POST("/admin/feeds/import", s.importFeeds, s.signedIn) // multipart
		e.Match(get, "/admin/feeds/export", s.exportFeeds, s.signedIn)
		if s.newsletterAdmin() != nil {
			e.Match(get, "/admin/subscribers", s.subscribers, s.signedIn)
			e.GET("/admin/subscribers/export.csv", s.exportSubscribers, s.signedIn)
			e.POST("/admin/subscribers/lookup", s.lookupSubscriber, s.signedIn)
			e.POST("/admin/subscribers/remove", s.removeSubscriber, s.signedIn)
			e.Match(get, "/admin/digests", s.digests, s.signedIn)
			e.Match(get, "/admin/digests/preview/:week", s.previewDigest, s.signedIn)
			e.POST("/admin/digests/compose", s.composeDigest, s.signedIn)
			e.POST("/admin/digests/test", s.testDigest, s.signedIn)
			e.POST("/admin/digests/send", s.sendDigest, s.signedIn)
		}
	}

	s.guardRoutes()

	if s.opts.Comments == nil {
		// Without comments these are unknown pages (404), not forms to
		// guard, nor a 405 from the story route next door.
		notFound := func(echo.Context) error { return echo.NewHTTPError(http.StatusNotFound) }
		e.POST("/stories/:id/comments", notFound)
		e.Any("/comments/stop", notFound)
	}
}

// page registers a cached page for GET and HEAD.
func (s *Server) page(path string, h echo.HandlerFunc) {
	s.echo.Match([]string{http.MethodGet, http.MethodHead}, path, h)
}
