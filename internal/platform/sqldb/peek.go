package sqldb

// sockState is what a look at an idle connection's socket found.
type sockState int

const (
	sockUnknown sockState = iota // cannot tell here
	sockIdle                     // open, nothing to read
	sockPending                  // open, something arrived unasked
	sockClosed                   // the peer has closed it, or it is broken
)

func (s sockState) String() string {
	switch s {
	case sockIdle:
		return "idle"
	case sockPending:
		return "pending"
	case sockClosed:
		return "closed"
	}
	return "unknown"
}
