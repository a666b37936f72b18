// Package systemdbus is socktui's only way to systemd: it lists socket units
// and the services they trigger, runs actions on them and follows their
// changes by D-Bus signal, never by polling the unit list.
//
// Its types are the unit package's; it never imports Bubble Tea.
package systemdbus
