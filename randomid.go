package dialroom

// RandomIDLen is the length of the unguessable ids that name stored
// documents in paths and URLs: 16 random bytes (128 bits) in lower-case hex.
const RandomIDLen = 32

// IsRandomID reports whether id has the form of such an id, so that junk
// is refused before it reaches a path or a query.
func IsRandomID(id string) bool {
	if len(id) != RandomIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !('0' <= id[i] && id[i] <= '9' || 'a' <= id[i] && id[i] <= 'f') {
			return false
		}
	}
	return true
}
