package apifytest

import (
	"net/http"
	"strings"
)

// tokenOf returns the API token of a request: the Authorization: Bearer
// header, or the token query parameter that older clients send.
func tokenOf(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

// authenticate returns the user whose token the request carries, or the
// 401 to answer with.
func (s *Server) authenticate(r *http.Request) (*user, *Error) {
	tok := tokenOf(r)
	if tok == "" {
		if r.Header.Get("Authorization") != "" {
			return nil, &Error{StatusCode: http.StatusUnauthorized, Type: typeTokenInvalid,
				Message: "Authorization header must be \"Bearer <token>\""}
		}
		return nil, &Error{StatusCode: http.StatusUnauthorized, Type: typeTokenMissing,
			Message: "Authentication token was not provided"}
	}
	u, ok := s.userByToken(tok)
	if !ok {
		return nil, &Error{StatusCode: http.StatusUnauthorized, Type: typeTokenInvalid,
			Message: "Authentication token is not valid"}
	}
	return u, nil
}
