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

package window

import (
	"testing"
	"time"

	sdv1 "github.com/kominfo/subdomain-operator/api/v1alpha1"
)

// sop is the SOP's working hours: Mon-Thu 08:00-16:00, Fri 08:00-11:30 WITA.
var sop = &sdv1.ChangeWindow{TimeZone: "Asia/Makassar", Windows: []sdv1.Window{
	{Days: []sdv1.Weekday{"Mon", "Tue", "Wed", "Thu"}, Start: "08:00", End: "16:00"},
	{Days: []sdv1.Weekday{"Fri"}, Start: "08:00", End: "11:30"},
}}

func TestOpen(t *testing.T) {
	s, err := Parse(sop)
	if err != nil {
		t.Fatal(err)
	}
	wita := time.FixedZone("WITA", 8*3600)
	at := func(y, mo, d, h, mi int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, 0, 0, wita) }
	for _, tc := range []struct {
		name string
		now  time.Time
		open bool
		next time.Time
	}{
		{"Monday 09:00", at(2026, 11, 23, 9, 0), true, time.Time{}},
		{"Monday 08:00 sharp", at(2026, 11, 23, 8, 0), true, time.Time{}},
		{"Monday 16:00 is closed", at(2026, 11, 23, 16, 0), false, at(2026, 11, 24, 8, 0)},
		{"Monday 07:59", at(2026, 11, 23, 7, 59), false, at(2026, 11, 23, 8, 0)},
		{"Friday 11:29", at(2026, 11, 27, 11, 29), true, time.Time{}},
		{"Friday 11:30 waits for Monday", at(2026, 11, 27, 11, 30), false, at(2026, 11, 30, 8, 0)},
		{"Saturday", at(2026, 11, 28, 10, 0), false, at(2026, 11, 30, 8, 0)},
		{"Sunday 23:00 UTC is Monday 07:00 WITA", time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), false, at(2026, 11, 23, 8, 0)},
		{"Monday 01:00 UTC is Monday 09:00 WITA", time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC), true, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, next := s.Open(tc.now)
			if open != tc.open || (!open && !next.Equal(tc.next)) {
				t.Errorf("Open(%s) = %v, %s; want %v, %s", tc.now, open, next, tc.open, tc.next)
			}
		})
	}
}

// TestOpenLunchBreak: two windows on one day, listed latest first - before the first
// one opens, the next opening is the earlier one's start, not the first listed.
func TestOpenLunchBreak(t *testing.T) {
	s, err := Parse(&sdv1.ChangeWindow{TimeZone: "Asia/Makassar", Windows: []sdv1.Window{
		{Days: []sdv1.Weekday{"Mon"}, Start: "13:00", End: "16:00"},
		{Days: []sdv1.Weekday{"Mon"}, Start: "08:00", End: "12:00"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wita := time.FixedZone("WITA", 8*3600)
	at := func(d, h, mi int) time.Time { return time.Date(2026, 11, d, h, mi, 0, 0, wita) }
	for _, tc := range []struct {
		now  time.Time
		open bool
		next time.Time
	}{
		{at(23, 7, 0), false, at(23, 8, 0)},
		{at(23, 10, 0), true, time.Time{}},
		{at(23, 12, 30), false, at(23, 13, 0)},
		{at(23, 16, 0), false, at(30, 8, 0)},
	} {
		open, next := s.Open(tc.now)
		if open != tc.open || (!open && !next.Equal(tc.next)) {
			t.Errorf("Open(%s) = %v, %s; want %v, %s", tc.now, open, next, tc.open, tc.next)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, cw := range []*sdv1.ChangeWindow{
		{TimeZone: "Mars/Olympus", Windows: sop.Windows},
		{TimeZone: "Local", Windows: sop.Windows},
		{TimeZone: "", Windows: sop.Windows},
		{TimeZone: "UTC", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "16:00", End: "08:00"}}},
		{TimeZone: "UTC", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "08:00", End: "08:00"}}},
		{TimeZone: "UTC", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Someday"}, Start: "08:00", End: "09:00"}}},
		{TimeZone: "UTC", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Mon"}, Start: "8:00", End: "09:00"}}},
		{TimeZone: "UTC"},
	} {
		if _, err := Parse(cw); err == nil {
			t.Errorf("Parse(%+v) accepted", cw)
		}
	}
}

// TestOpenDaylightSaving: a window's times are wall-clock times on the day the clock
// jumps too (Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00).
func TestOpenDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("no time zone database: %v", err)
	}
	s, err := Parse(&sdv1.ChangeWindow{TimeZone: "Europe/Berlin", Windows: []sdv1.Window{{Days: []sdv1.Weekday{"Sun"}, Start: "05:00", End: "06:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, berlin) }
	for _, tc := range []struct {
		name string
		now  time.Time
		open bool
		next time.Time
	}{
		{"spring, 04:30 waits for 05:00", at(time.March, 29, 4, 30), false, at(time.March, 29, 5, 0)},
		{"spring, 05:30 is open", at(time.March, 29, 5, 30), true, time.Time{}},
		{"spring, 06:00 is closed", at(time.March, 29, 6, 0), false, at(time.April, 5, 5, 0)},
		{"autumn, 04:30 waits for 05:00", at(time.October, 25, 4, 30), false, at(time.October, 25, 5, 0)},
		{"autumn, 05:30 is open", at(time.October, 25, 5, 30), true, time.Time{}},
		{"autumn, 06:00 is closed", at(time.October, 25, 6, 0), false, at(time.November, 1, 5, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, next := s.Open(tc.now)
			if open != tc.open || (!open && !next.Equal(tc.next)) {
				t.Errorf("Open(%s) = %v, %s; want %v, %s", tc.now, open, next, tc.open, tc.next)
			}
		})
	}
}

// TestOpenMidnightJump: where the clock jumps at midnight (America/Santiago
// 2026-09-06, America/Havana 2026-03-08: 00:00 -> 01:00) the day has no 00:00, and
// a window of that day is still that day's; a wall time the jump skips opens the
// window at the jump, and a window the jump skips whole is next week's.
func TestOpenMidnightJump(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("no time zone database: %v", err)
		}
		return loc
	}
	scl, hav, ber := zone("America/Santiago"), zone("America/Havana"), zone("Europe/Berlin")
	win := func(tz string, days []sdv1.Weekday, start, end string) *Schedule {
		s, err := Parse(&sdv1.ChangeWindow{TimeZone: tz, Windows: []sdv1.Window{{Days: days, Start: start, End: end}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sun := []sdv1.Weekday{"Sun"}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	jumpSCL := time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC) // Sat 24:00 -04 = Sun 01:00 -03
	for _, tc := range []struct {
		name string
		s    *Schedule
		now  time.Time
		open bool
		next time.Time
	}{
		{"Santiago, Wednesday waits for Sunday 02:00", win("America/Santiago", sun, "02:00", "06:00"),
			at(scl, 2026, 9, 2, 10, 0), false, at(scl, 2026, 9, 6, 2, 0)},
		{"Santiago, Sunday 03:00 is open", win("America/Santiago", sun, "02:00", "06:00"),
			at(scl, 2026, 9, 6, 3, 0), true, time.Time{}},
		{"Santiago, Saturday afternoon waits for Sunday, not next Saturday", win("America/Santiago", []sdv1.Weekday{"Sat", "Sun"}, "08:00", "12:00"),
			at(scl, 2026, 9, 5, 13, 0), false, at(scl, 2026, 9, 6, 8, 0)},
		{"Santiago, Sunday from 00:00 opens at the jump", win("America/Santiago", sun, "00:00", "06:00"),
			at(scl, 2026, 9, 5, 22, 0), false, jumpSCL},
		{"Santiago, Saturday until 24:00 is open until the jump", win("America/Santiago", []sdv1.Weekday{"Sat"}, "20:00", "24:00"),
			at(scl, 2026, 9, 5, 23, 30), true, time.Time{}},
		{"Havana, Thursday waits for Sunday 09:00", win("America/Havana", sun, "09:00", "10:00"),
			at(hav, 2026, 3, 5, 12, 0), false, at(hav, 2026, 3, 8, 9, 0)},
		{"Berlin, a window the jump cuts opens at the jump", win("Europe/Berlin", sun, "02:30", "03:30"),
			at(ber, 2026, 3, 29, 1, 0), false, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"Berlin, a window the jump skips whole is next week's", win("Europe/Berlin", sun, "02:00", "02:30"),
			at(ber, 2026, 3, 29, 1, 0), false, at(ber, 2026, 4, 5, 2, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, next := tc.s.Open(tc.now)
			if open != tc.open || (!open && !next.Equal(tc.next)) {
				t.Errorf("Open(%s) = %v, %s; want %v, %s", tc.now, open, next, tc.open, tc.next)
			}
		})
	}
}

// FuzzWindow: no panic; an accepted window is open exactly when the moment, on the
// window's clock, falls on its day between start and end; when closed, the next opening
// is later, is open, is the window's day and start, and comes at most a week less the
// window's length later (seven days and seven days only: the window repeats weekly).
//
// That exact arithmetic holds where the zone's UTC offset stays put. Around a clock
// change (daylight saving time) a week is 167 or 169 hours and a wall time in the hour
// skipped or repeated is ambiguous, so there only the general properties are checked,
// with slack; TestOpenDaylightSaving and TestOpenMidnightJump pin the wall-clock
// behaviour there.
func FuzzWindow(f *testing.F) {
	f.Add("Asia/Makassar", "Mon", "08:00", "16:00", int64(1763884800))
	f.Add("Asia/Makassar", "Mon", "08:00", "16:00", int64(1763971200)) // Monday 16:00 WITA: closed a week less 8 h
	f.Add("UTC", "Sun", "00:00", "24:00", int64(0))
	f.Add("Asia/Jakarta", "Fri", "23:59", "24:00", int64(-1))
	f.Add("Europe/Berlin", "Wed", "09:00", "10:00", int64(1781076600))    // Wednesday 2026-06-10 09:30 CEST: open
	f.Add("Europe/Berlin", "Wed", "09:00", "10:00", int64(1781078400))    // 10:00: closed a week less an hour
	f.Add("Europe/Berlin", "Sun", "01:00", "05:00", int64(1792836000))    // Saturday 2026-10-24: the clocks go back tomorrow
	f.Add("America/Santiago", "Sun", "02:00", "06:00", int64(1788357600)) // Wednesday 2026-09-02 10:00 -04: the clocks jump at Sunday's midnight
	f.Add("America/Havana", "Sun", "00:00", "01:00", int64(1772881200))   // Saturday 2026-03-07 06:00 -05: the same in March
	f.Add("Europe/Berlin", "Sun", "02:00", "02:30", int64(1774144800))    // Sunday 2026-03-22 03:00 CET: next Sunday's window is in the skipped hour, so two weeks on
	f.Add("UTC", "Mon", "08:00", "08:00", int64(0))                       // an empty window: refused
	f.Add("bogus", "Xyz", "9", "25:61", int64(42))
	f.Fuzz(func(t *testing.T, tz, day, start, end string, unix int64) {
		s, err := Parse(&sdv1.ChangeWindow{TimeZone: tz, Windows: []sdv1.Window{{Days: []sdv1.Weekday{sdv1.Weekday(day)}, Start: start, End: end}}})
		if err != nil {
			return
		}
		// Parse accepted them, so these parse too.
		wd := days[sdv1.Weekday(day)]
		from, _ := ParseClock(start)
		to, _ := ParseClock(end)
		now := time.Unix(unix%(1<<40), 0)
		open, next := s.Open(now)
		if steadyOffset(now, s.loc) {
			local := now.In(s.loc)
			clock := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute +
				time.Duration(local.Second())*time.Second
			inside := local.Weekday() == wd && clock >= time.Duration(from)*time.Minute && clock < time.Duration(to)*time.Minute
			if open != inside {
				t.Fatalf("Open(%s) = %v, but %s is on the window %s %s-%s: %v", now, open, local, day, start, end, inside)
			}
			if open {
				return
			}
			week := 7*24*time.Hour - time.Duration(to-from)*time.Minute
			if !next.After(now) || next.Sub(now) > week {
				t.Fatalf("next opening %s for %s is not within %s (a week less the window)", next, now, week)
			}
			if n := next.In(s.loc); n.Weekday() != wd || n.Hour()*60+n.Minute() != from || n.Second() != 0 {
				t.Fatalf("next opening %s for %s is not the window's %s %s", n, now, day, start)
			}
		} else {
			if open {
				return
			}
			// A clock change can skip a window's whole span on its day (Havana's
			// Sunday 00:00-01:00 on 2026-03-08): then it opens a week later.
			if !next.After(now) || next.Sub(now) > 15*24*time.Hour {
				t.Fatalf("next opening %s for %s is not within two weeks and a day", next, now)
			}
		}
		if o, _ := s.Open(next); !o {
			t.Fatalf("closed at its own next opening %s", next)
		}
	})
}

// FuzzWindows: a change window of two windows is the union of the two: open exactly
// when one of them is, and when closed, its next opening is the earlier of theirs -
// whatever the order they are listed in, on one day or on two (a lunch break).
func FuzzWindows(f *testing.F) {
	f.Add("Asia/Makassar", "Mon", "13:00", "16:00", "Mon", "08:00", "12:00", int64(1763938800)) // Monday 2025-11-24 07:00 WITA: 08:00, not 13:00
	f.Add("Asia/Makassar", "Mon", "08:00", "12:00", "Mon", "12:00", "16:00", int64(1763956800)) // back to back, Monday 12:00
	f.Add("Asia/Makassar", "Fri", "08:00", "11:30", "Mon", "08:00", "16:00", int64(1764300600)) // Friday 2025-11-28 11:30: Monday 08:00
	f.Add("UTC", "Sun", "00:00", "24:00", "Sun", "00:00", "24:00", int64(0))
	f.Add("Europe/Berlin", "Sun", "02:00", "02:30", "Sun", "01:00", "02:15", int64(1774144800)) // one window in the skipped hour
	f.Fuzz(func(t *testing.T, tz, d1, s1, e1, d2, s2, e2 string, unix int64) {
		w1 := sdv1.Window{Days: []sdv1.Weekday{sdv1.Weekday(d1)}, Start: s1, End: e1}
		w2 := sdv1.Window{Days: []sdv1.Weekday{sdv1.Weekday(d2)}, Start: s2, End: e2}
		both, err := Parse(&sdv1.ChangeWindow{TimeZone: tz, Windows: []sdv1.Window{w1, w2}})
		if err != nil {
			return
		}
		// Parse accepted both, so each alone parses too.
		a, _ := Parse(&sdv1.ChangeWindow{TimeZone: tz, Windows: []sdv1.Window{w1}})
		b, _ := Parse(&sdv1.ChangeWindow{TimeZone: tz, Windows: []sdv1.Window{w2}})
		now := time.Unix(unix%(1<<40), 0)
		open, next := both.Open(now)
		openA, nextA := a.Open(now)
		openB, nextB := b.Open(now)
		if open != (openA || openB) {
			t.Fatalf("Open(%s) = %v, but the windows alone say %v and %v", now, open, openA, openB)
		}
		if open {
			return
		}
		want := nextA
		if want.IsZero() || (!nextB.IsZero() && nextB.Before(want)) {
			want = nextB
		}
		if !next.Equal(want) {
			t.Fatalf("next opening %s for %s; the windows alone open at %s and %s", next, now, nextA, nextB)
		}
	})
}

// steadyOffset tells whether loc keeps one UTC offset from a day before t to nine days
// after it: there every local day is 24 hours and wall-clock arithmetic is exact.
func steadyOffset(t time.Time, loc *time.Location) bool {
	_, end := t.Add(-24 * time.Hour).In(loc).ZoneBounds()
	return end.IsZero() || end.After(t.Add(9*24*time.Hour))
}

// TestChangeFrom: a change asked for while the window is closed can first be made at
// its next opening; one asked for while it is open, at once; no window or one that
// cannot be read holds nothing.
func TestChangeFrom(t *testing.T) {
	wita := time.FixedZone("WITA", 8*3600)
	at := func(d, h, mi int) time.Time { return time.Date(2026, 11, d, h, mi, 0, 0, wita) }
	bad := &sdv1.ChangeWindow{TimeZone: "Asia/Makasar", Windows: sop.Windows}
	for _, tc := range []struct {
		name string
		cw   *sdv1.ChangeWindow
		t    time.Time
		want time.Time
	}{
		{"Friday 12:00 waits for Monday 08:00", sop, at(27, 12, 0), at(30, 8, 0)},
		{"Tuesday 09:00 at once", sop, at(24, 9, 0), at(24, 9, 0)},
		{"Tuesday 07:00 at 08:00", sop, at(24, 7, 0), at(24, 8, 0)},
		{"no window", nil, at(27, 12, 0), at(27, 12, 0)},
		{"a window that cannot be read", bad, at(27, 12, 0), at(27, 12, 0)},
	} {
		if got := ChangeFrom(tc.cw, tc.t); !got.Equal(tc.want) {
			t.Errorf("%s: ChangeFrom = %s, want %s", tc.name, got, tc.want)
		}
	}
}
