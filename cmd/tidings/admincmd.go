package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

// passwordHashEnv names the variable that gives the admin password as a
// hash; it wins over the password stored with `tidings admin password`.
const passwordHashEnv = "TIDINGS_ADMIN_PASSWORD_HASH"

// adminService builds the admin login service on st.
func (a *app) adminService(st store.Store, keys *secrets.Keys) (*admin.Service, error) {
	return admin.NewService(admin.Options{
		Store:        st,
		Keys:         keys,
		PasswordHash: os.Getenv(passwordHashEnv),
		Logger:       a.logger(),
	})
}

func adminCommands() []*command {
	return []*command{
		{name: "password", summary: "set the admin password: the first line of stdin (at least 12 characters), stored hashed", run: cmdAdminPassword},
		{name: "hash", summary: "print the hash of the password on stdin, for " + passwordHashEnv, run: cmdAdminHash},
	}
}

func cmdAdminPassword(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("admin password takes no arguments (the password is read from stdin), got %q", args)
	}
	password, err := a.readPassword("New admin password: ")
	if err != nil {
		return err
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := a.keys()
	if err != nil {
		return err
	}
	svc, err := a.adminService(st, keys)
	if err != nil {
		return err
	}
	if err := svc.SetPassword(ctx, password); err != nil {
		return passwordError(err)
	}
	fmt.Fprintln(a.stdout, "admin password set; log in at", strings.TrimRight(a.cfg.BaseURL, "/")+"/admin/login (sessions opened with the old password have ended)")
	if svc.PasswordFromEnv() {
		fmt.Fprintf(a.stderr, "tidings: note: %s is set and wins over the stored password until it is removed\n", passwordHashEnv)
	}
	return nil
}

func cmdAdminHash(_ context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("admin hash takes no arguments (the password is read from stdin), got %q", args)
	}
	password, err := a.readPassword("Admin password to hash: ")
	if err != nil {
		return err
	}
	hash, err := admin.HashPassword(password)
	if err != nil {
		return passwordError(err)
	}
	fmt.Fprintln(a.stdout, hash)
	return nil
}

// passwordError explains a refused password.
func passwordError(err error) error {
	if errors.Is(err, admin.ErrWeakPassword) {
		return fmt.Errorf("the password is refused: it must have at least %d characters (and at most %d bytes); a few unrelated words make a good one", admin.MinPasswordLen, admin.MaxPasswordBytes)
	}
	return err
}

// readPassword reads the first line of stdin, without its line ending. On a
// terminal it prompts and does not echo what is typed.
func (a *app) readPassword(prompt string) (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return checkTyped(string(b))
	}
	// One byte more than a password may have, and the line ending.
	line, err := bufio.NewReader(io.LimitReader(a.stdin, admin.MaxPasswordBytes+3)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return checkTyped(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
}

// checkTyped refuses an empty password with a hint on how to give one.
func checkTyped(password string) (string, error) {
	if password == "" {
		return "", errors.New("no password on stdin; type it, or pipe it in: printf '%s\\n' 'your passphrase' | tidings admin password")
	}
	return password, nil
}
