package sqldb

import (
	"database/sql"
	"time"
)

// Times are stored as BIGINT unix microseconds, which both engines compare
// and index alike; these convert to and from them.

// Micros returns t as stored: unix microseconds.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros returns the UTC time of stored unix microseconds us.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// NullMicros returns *t as stored, or NULL for nil.
func NullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// FromNullMicros returns the time stored in n, or nil for NULL.
func FromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := FromMicros(n.Int64)
	return &t
}
