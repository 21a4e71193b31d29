package views

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// statusOf maps an error to the HTTP status shown to the reader: the one table
// of domain errors to codes.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, feeds.ErrNotFound):
		return http.StatusNotFound
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
	default:
		var he *echo.HTTPError
		if errors.As(err, &he) {
			if m, ok := he.Message.(string); ok {
				msg = m
			}
		}
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

type errorPage struct {
	Meta    meta
	Heading string
	Code    int
	Message string
}
