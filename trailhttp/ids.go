package trailhttp

// codeName turns a status text into an error code: words capitalized, spaces
// and punctuation dropped ("I'm a teapot" becomes "ImATeapot").
func codeName(text string) string {
	b := make([]byte, 0, len(text))
	start := true
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case 'a' <= c && c <= 'z':
			if start {
				c -= 'a' - 'A'
			}
			b, start = append(b, c), false
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b, start = append(b, c), false
		case c == '\'':
		default:
			start = true
		}
	}
	return string(b)
}
