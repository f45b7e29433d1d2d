package routerostest

import (
	"strconv"
	"strings"
)

// matchQuery evaluates API query words against one item with the stack
// machine of the API manual: the stack starts as an endless supply of true
// and the item matches when no false remains.
func matchQuery(words []string, item map[string]string) (bool, error) {
	var st []bool
	pop := func() bool {
		if len(st) == 0 {
			return true
		}
		v := st[len(st)-1]
		st = st[:len(st)-1]
		return v
	}
	top := func(i int) bool {
		if i >= len(st) {
			return true
		}
		return st[len(st)-1-i]
	}
	for _, w := range words {
		q := w[1:] // drop '?'
		switch {
		case strings.HasPrefix(q, "#"):
			ops := q[1:]
			for i := 0; i < len(ops); i++ {
				switch c := ops[i]; {
				case c == '!':
					st = append(st, !pop())
				case c == '&':
					a, b := pop(), pop()
					st = append(st, a && b)
				case c == '|':
					a, b := pop(), pop()
					st = append(st, a || b)
				case c == '.':
					st = append(st, top(0))
				case c >= '0' && c <= '9':
					j := i
					for j < len(ops) && ops[j] >= '0' && ops[j] <= '9' {
						j++
					}
					n, err := strconv.Atoi(ops[i:j])
					if err != nil {
						return false, trap(1, "invalid query %s", w)
					}
					v := top(n)
					if j == len(ops) {
						st = []bool{v}
					} else {
						st = append(st, v)
					}
					i = j - 1
				default:
					return false, trap(1, "invalid query %s", w)
				}
			}
		case strings.HasPrefix(q, "-"):
			_, ok := item[q[1:]]
			st = append(st, !ok)
		case strings.HasPrefix(q, "<"), strings.HasPrefix(q, ">"):
			name, val, _ := strings.Cut(q[1:], "=")
			got, ok := item[name]
			c := compare(got, val)
			st = append(st, ok && ((q[0] == '<' && c < 0) || (q[0] == '>' && c > 0)))
		default:
			q = strings.TrimPrefix(q, "=")
			name, val, hasVal := strings.Cut(q, "=")
			got, ok := item[name]
			if !hasVal {
				st = append(st, ok)
				continue
			}
			st = append(st, ok && equalValue(got, val))
		}
	}
	for _, v := range st {
		if !v {
			return false, nil
		}
	}
	return true, nil
}

func equalValue(got, want string) bool {
	if got == want {
		return true
	}
	switch want {
	case "yes":
		return got == "true"
	case "no":
		return got == "false"
	}
	return false
}

func compare(a, b string) int {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}
