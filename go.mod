module github.com/socktui/socktui

go 1.26.0

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/godbus/dbus/v5 v5.2.2
)

require golang.org/x/sys v0.50.0 // indirect
