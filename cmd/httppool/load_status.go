package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// defaultAcceptStatus is what --accept-status accepts when not given.
const defaultAcceptStatus = "2xx"

// statusSet is the response statuses a load counts as OK, set by
// --accept-status as a comma-separated list of classes ("2xx") and codes
// ("404"). Its zero value accepts nothing.
type statusSet struct {
	spec    string
	classes [6]bool // by the code's first digit, 1 to 5
	codes   map[int]bool
}

// String returns the list as given, for flag's help and the report.
func (s *statusSet) String() string {
	if s == nil {
		return ""
	}
	return s.spec
}

// Set replaces the set with the list in spec.
func (s *statusSet) Set(spec string) error {
	next := statusSet{codes: make(map[int]bool)}
	var items []string
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case len(item) == 3 && item[0] >= '1' && item[0] <= '5' && item[1:] == "xx":
			next.classes[item[0]-'0'] = true
		default:
			code, err := strconv.Atoi(item)
			if err != nil || code < 100 || code > 599 {
				return fmt.Errorf("%q is neither a status class (2xx) nor a status code (100 to 599)", item)
			}
			next.codes[code] = true
		}
		items = append(items, item)
	}
	next.spec = strings.Join(items, ",")
	*s = next
	return nil
}

// accepts reports whether a response of status code counts as OK.
func (s *statusSet) accepts(code int) bool {
	if class := code / 100; class >= 1 && class <= 5 && s.classes[class] {
		return true
	}
	return s.codes[code]
}

// statusClasses adds status codes up by class: "2xx", "4xx" and so on;
// codes outside 100 to 599 count as "other".
func statusClasses(byCode map[int]int64) map[string]int64 {
	classes := make(map[string]int64)
	for code, n := range byCode {
		class := "other"
		if code >= 100 && code <= 599 {
			class = strconv.Itoa(code/100) + "xx"
		}
		classes[class] += n
	}
	return classes
}

// fmtStatus lists the statuses by class, then by code, e.g. "2xx 998,
// 5xx 2 (200: 998, 503: 2)".
func fmtStatus(byCode map[int]int64) string {
	if len(byCode) == 0 {
		return "none"
	}
	classes := statusClasses(byCode)
	var parts, codes []string
	for _, class := range slices.Sorted(maps.Keys(classes)) {
		parts = append(parts, fmt.Sprintf("%s %d", class, classes[class]))
	}
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		codes = append(codes, fmt.Sprintf("%d: %d", code, byCode[code]))
	}
	return strings.Join(parts, ", ") + " (" + strings.Join(codes, ", ") + ")"
}
