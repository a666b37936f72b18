package systemdbus

func orUnknown(s string) string {
	if s == "" {
		return "unknown reason"
	}
	return s
}
