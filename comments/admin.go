package comments

import "fmt"

// Email opens the sealed address of a comment's author, for the moderation
// queue: the one page where a commenter's address is shown, and only to the
// logged-in administrator. An address that cannot be opened (damaged, or
// sealed under another secret key) is an error.
func (s *Service) Email(c Comment) (string, error) {
	addr, err := s.o.Keys.Open(c.EmailSealed)
	if err != nil {
		return "", fmt.Errorf("comments: comment %d: the address cannot be decrypted (is the secret key the one it was stored with?): %w", c.ID, err)
	}
	return addr, nil
}
