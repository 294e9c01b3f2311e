package outbox

// CrashAfterPublish makes r call f between publishing a batch and stamping it
// published: the window the crash test aims at.
func CrashAfterPublish(r *Relay, f func()) { r.afterPublish = f }
