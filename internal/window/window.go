/*
Copyright 2026 The subdomain-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package window answers whether a zone's change window is open at a moment, and when
// it opens next. It is pure: the caller passes the time.
package window

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

var days = map[sdv1.Weekday]time.Weekday{
	"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday, "Wed": time.Wednesday,
	"Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday,
}

// ParseClock parses HH:MM (00:00-24:00) into minutes after midnight.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day (00:00-24:00)", s)
	}
	return hh*60 + mm, nil
}

type span struct {
	day        time.Weekday
	start, end int // minutes after midnight, start < end
}

// Schedule is a parsed change window.
type Schedule struct {
	loc   *time.Location
	spans []span
}

// Parse checks a change window: an IANA time zone, known days, start before end.
func Parse(cw *sdv1.ChangeWindow) (*Schedule, error) {
	loc, err := time.LoadLocation(cw.TimeZone)
	if err != nil || cw.TimeZone == "" || cw.TimeZone == "Local" { // Local: the reader's own clock
		return nil, fmt.Errorf("timeZone %q is not an IANA time zone", cw.TimeZone)
	}
	s := &Schedule{loc: loc}
	for i, w := range cw.Windows {
		start, err := ParseClock(w.Start)
		if err != nil {
			return nil, fmt.Errorf("windows[%d].start: %w", i, err)
		}
		end, err := ParseClock(w.End)
		if err != nil {
			return nil, fmt.Errorf("windows[%d].end: %w", i, err)
		}
		if end <= start {
			return nil, fmt.Errorf("windows[%d]: end %s is not after start %s", i, w.End, w.Start)
		}
		for _, d := range w.Days {
			wd, ok := days[d]
			if !ok {
				return nil, fmt.Errorf("windows[%d]: unknown day %q", i, d)
			}
			s.spans = append(s.spans, span{day: wd, start: start, end: end})
		}
	}
	if len(s.spans) == 0 {
		return nil, fmt.Errorf("a change window needs at least one day")
	}
	return s, nil
}

// Open reports whether changes may happen at now; if not, next is when they may.
//
// It walks calendar dates, not midnights: where the clock jumps at midnight
// (America/Santiago, America/Havana) a day has no 00:00, and stepping from one
// midnight to the next would land on the day before again. A window's start and end
// are wall-clock times of their date; one the clock skips (daylight saving starts)
// is the moment of the jump, so a window the jump cuts opens then and one it skips
// whole does not open that day.
func (s *Schedule) Open(now time.Time) (open bool, next time.Time) {
	local := now.In(s.loc)
	y, m, d := local.Date()
	var best time.Time
	// Eight days find any weekly window; fifteen, one a clock change skipped whole.
	for offset := 0; offset <= 14; offset++ {
		date := time.Date(y, m, d+offset, 0, 0, 0, 0, time.UTC) // the calendar date alone
		for _, sp := range s.spans {
			if date.Weekday() != sp.day {
				continue
			}
			start, end := s.wall(date, sp.start), s.wall(date, sp.end)
			if !start.Before(end) {
				continue // the clock skips the whole window that day
			}
			if !local.Before(start) && local.Before(end) {
				return true, now
			}
			if start.After(local) && (best.IsZero() || start.Before(best)) {
				best = start
			}
		}
		if !best.IsZero() {
			return false, best
		}
	}
	return false, best
}

// wall is the moment the schedule's clock reads minutes after midnight of date (24:00
// is the next day's 00:00), or, when the clock skips that reading, the moment it jumps
// past it. time.Date alone places a skipped reading an offset's difference before or
// after the jump (for a skipped midnight, on the day before).
func (s *Schedule) wall(date time.Time, minutes int) time.Time {
	want := date.Add(time.Duration(minutes) * time.Minute)
	t := time.Date(want.Year(), want.Month(), want.Day(), want.Hour(), want.Minute(), 0, 0, s.loc)
	shown := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	switch from, to := t.ZoneBounds(); {
	case shown.Before(want) && !to.IsZero(): // placed before the jump
		return to
	case shown.After(want) && !from.IsZero(): // placed after it
		return from
	}
	return t
}

// From is when a change asked for at t could first be made: t if the window is open
// then, else its next opening. A rename's provisioning time counts from it, not from
// an approval given while the window was closed.
func (s *Schedule) From(t time.Time) time.Time {
	if open, next := s.Open(t); !open && !next.IsZero() {
		return next
	}
	return t
}

// ChangeFrom is From for a zone's change window (a nil window, or one that cannot be
// read, holds nothing: t).
func ChangeFrom(cw *sdv1.ChangeWindow, t time.Time) time.Time {
	if cw == nil {
		return t
	}
	sched, err := Parse(cw)
	if err != nil {
		return t
	}
	return sched.From(t)
}
