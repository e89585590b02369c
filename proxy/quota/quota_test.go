package quota

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindowStartAndEnd(t *testing.T) {
	for _, tc := range []struct {
		period, now, start, end string
	}{
		{Second, "2026-03-04T05:06:07.8Z", "2026-03-04T05:06:07Z", "2026-03-04T05:06:08Z"},
		{Minute, "2026-03-04T05:06:07.8Z", "2026-03-04T05:06:00Z", "2026-03-04T05:07:00Z"},
		{Hour, "2026-03-04T05:06:07.8Z", "2026-03-04T05:00:00Z", "2026-03-04T06:00:00Z"},
		{Day, "2026-03-04T23:59:59.999Z", "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z"},
		// A day in UTC, whatever the zone the time is given in.
		{Day, "2026-03-04T01:00:00+02:00", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z"},
		{Month, "2026-02-14T12:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"},
		{Month, "2024-02-29T23:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{Month, "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	} {
		t.Run(tc.period+" "+tc.now, func(t *testing.T) {
			s := WindowStart(tc.period, at(tc.now))
			if !s.Equal(at(tc.start)) {
				t.Errorf("start %s, want %s", s, tc.start)
			}
			if e := WindowEnd(tc.period, s); !e.Equal(at(tc.end)) {
				t.Errorf("end %s, want %s", e, tc.end)
			}
		})
	}
}

func TestQuotaCountsPerKeyAndRenews(t *testing.T) {
	q, err := New(Config{Limit: 3, Period: Month})
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-01-31T23:59:58Z")
	for i := range 3 {
		d := q.Allow(now, "a")
		if !d.Allowed || d.Remaining != int64(2-i) || d.Limit != 3 {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := q.Allow(now.Add(time.Second), "a")
	if d.Allowed || d.Remaining != 0 || d.Reset != time.Second {
		t.Fatalf("fourth request: %+v, want refused with reset 1s", d)
	}
	if d := q.Allow(now.Add(time.Second), "b"); !d.Allowed {
		t.Fatalf("another key refused: %+v", d)
	}
	// February's window: everyone starts again.
	d = q.Allow(at("2026-02-01T00:00:00Z"), "a")
	if !d.Allowed || d.Remaining != 2 || d.Reset != 28*24*time.Hour {
		t.Fatalf("new month: %+v", d)
	}
	if q.Keys() != 1 {
		t.Errorf("%d keys kept after renewal, want 1", q.Keys())
	}
}

func TestQuotaRefusedAreNotCounted(t *testing.T) {
	q, _ := New(Config{Limit: 1, Period: Second})
	t0 := at("2026-01-01T00:00:00Z")
	q.Allow(t0, "k")
	for range 10 {
		q.Allow(t0.Add(500*time.Millisecond), "k")
	}
	if d := q.Allow(t0.Add(time.Second), "k"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("next second: %+v", d)
	}
}

func TestQuotaEarlierTimeCountsInCurrentWindow(t *testing.T) {
	q, _ := New(Config{Limit: 2, Period: Minute})
	q.Allow(at("2026-01-01T00:01:00Z"), "k")
	d := q.Allow(at("2026-01-01T00:00:59.999Z"), "k")
	if !d.Allowed || d.Remaining != 0 || d.Reset != time.Minute {
		t.Fatalf("%+v", d)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Limit: 0, Period: Day}, {Limit: 1, Period: "week"}, {Limit: 1}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
