package views

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// retryAfterStoreDown is the Retry-After, in seconds, of a 503 for a store
// that cannot be reached: outages a restart cures last seconds.
const retryAfterStoreDown = "5"

// tryLater reports whether err means the store is down, or too busy to
// answer in time: either way a moment later may do (503, or the stale page).
func tryLater(err error) bool {
	return errors.Is(err, feeds.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// statusOf maps an error to the HTTP status shown to the reader: the one table
// of domain errors to codes.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case tryLater(err):
		return http.StatusServiceUnavailable
	case errors.Is(err, feeds.ErrNotFound), errors.Is(err, newsletter.ErrNotFound), errors.Is(err, comments.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, newsletter.ErrBadToken), errors.Is(err, newsletter.ErrTokenExpired):
		return http.StatusBadRequest
	case errors.As(err, new(*newsletter.AddressError)):
		return http.StatusBadRequest
	case errors.Is(err, newsletter.ErrMailFailed):
		return http.StatusServiceUnavailable
	case errors.Is(err, admin.ErrBadPassword), errors.Is(err, admin.ErrNotFound), errors.Is(err, admin.ErrExpired):
		return http.StatusUnauthorized
	case errors.Is(err, admin.ErrThrottled), errors.Is(err, newsletter.ErrTooManySignups):
		return http.StatusTooManyRequests
	case errors.Is(err, admin.ErrNoPassword):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// handleError renders every error as a page with a clear message; only
// unexpected errors are logged.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := statusOf(err)
	msg := http.StatusText(code)
	switch code {
	case http.StatusNotFound:
		msg = "There is nothing here. The page may have moved, or the address may be mistyped."
	case http.StatusInternalServerError:
		s.opts.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		msg = "Something went wrong on our side. Please try again in a moment."
	case http.StatusServiceUnavailable:
		msg = "The site cannot reach its store right now. Please try again in a moment."
		switch {
		case errors.Is(err, newsletter.ErrMailFailed):
			msg = "The confirmation mail could not be sent just now. Please try again in a few minutes."
		case errors.Is(err, feeds.ErrUnavailable):
			c.Response().Header().Set("Retry-After", retryAfterStoreDown)
		case errors.Is(err, context.DeadlineExceeded):
			s.opts.Logger.Warn("request timed out", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
			msg = "The site is too busy to answer right now. Please try again in a moment."
			c.Response().Header().Set("Retry-After", retryAfterStoreDown)
		}
		msg = messageOf(err, msg)
	case http.StatusBadRequest:
		// Only our own words: a domain error's text may quote the input.
		msg = messageOf(err, "The request could not be understood. Check the link or the form and try again.")
	default:
		msg = messageOf(err, msg)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if err := s.render(c, code, "error", errorPage{
		Meta:    meta{Title: http.StatusText(code) + " — " + siteName, NoIndex: true},
		Heading: http.StatusText(code), Code: code, Message: msg,
	}); err != nil {
		s.opts.Logger.Error("rendering error page", "err", err)
	}
}

// messageOf is the message an *echo.HTTPError carries for the reader, or
// fallback.
func messageOf(err error, fallback string) string {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if m, ok := he.Message.(string); ok && m != http.StatusText(he.Code) {
			return m
		}
	}
	return fallback
}

type errorPage struct {
	Meta    meta
	Heading string
	Code    int
	Message string
}
