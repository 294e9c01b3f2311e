package page

import (
	"time"

	"golang.org/x/text/language"
)

func timeIn(seconds int) time.Time { return time.Now().Add(time.Duration(seconds) * time.Second) }

func timeAt(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func mustTag(s string) language.Tag { return language.MustParse(s) }
