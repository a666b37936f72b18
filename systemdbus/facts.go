package systemdbus

import (
	"context"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/unit"
)

// SocketFacts is what `socktui doctor` reads of one socket unit beyond a
// listing: its trigger limit, and the properties of the service it
// activates that a listing does not carry.
type SocketFacts struct {
	// TriggerLimitBurst and TriggerLimitInterval are the socket's
	// TriggerLimitBurst= and TriggerLimitIntervalSec=.
	TriggerLimitBurst    uint32
	TriggerLimitInterval time.Duration
	// Service is the service the socket activates: the one an Accept=no
	// socket triggers, or for an Accept=yes socket an instance of its
	// template (Service.Template), which reading loads (systemd unloads it
	// again, unused). Its Unit is "" when the socket triggers none.
	Service ServiceFacts
	// Namesake is the LoadState of the service named after the socket
	// (web.socket: web.service) when an Accept=no socket activates
	// another one (Service=); "" otherwise.
	Namesake string
}

// ServiceFacts are a service's properties as systemd reports them.
type ServiceFacts struct {
	Unit string
	// Template is the template of an Accept=yes socket (web@.service),
	// whose instance Unit is; "" otherwise.
	Template                                 string
	LoadState, ActiveState, SubState, Result string
	Type, NotifyAccess                       string
	SourcePath, FragmentPath, UnitFileState  string
	Requires, Wants, After                   []string
	StartLimitBurst                          uint32
	StartLimitInterval, TimeoutStart         time.Duration
	// Exec is the argv of the first ExecStart command, nil when it has
	// none.
	Exec []string
}

// doctorInstance is the instance name under which SocketFacts reads an
// Accept=yes socket's template.
const doctorInstance = "socktui-doctor"

// SocketFacts reads the facts of each socket in socks (as ListSockets
// returned them), keyed by socket name, in one round of pipelined calls on
// the session. A property a unit lacks keeps its zero value; an error
// means the connection failed.
func (c *Client) SocketFacts(ctx context.Context, socks []unit.Socket) (map[string]SocketFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	facts := make(map[string]*SocketFacts, len(socks))
	b := newBatch(ctx, s)
	for _, sk := range socks {
		f := &SocketFacts{}
		facts[sk.Unit] = f
		if sk.LoadState != "loaded" {
			continue
		}
		p := unitPath(sk.Unit)
		b.get(p, socketIface, "TriggerLimitBurst", func(v dbus.Variant) { _ = v.Store(&f.TriggerLimitBurst) })
		b.get(p, socketIface, "TriggerLimitIntervalUSec", func(v dbus.Variant) { f.TriggerLimitInterval = usecDuration(v) })
		base := strings.TrimSuffix(sk.Unit, ".socket")
		switch {
		case sk.Accept:
			f.Service.Template = base + "@.service"
			f.Service.Unit = base + "@" + doctorInstance + ".service"
		case len(sk.Triggers) > 0:
			f.Service.Unit = sk.Triggers[0]
			if namesake := base + ".service"; f.Service.Unit != namesake {
				b.get(unitPath(namesake), unitIface, "LoadState", func(v dbus.Variant) { _ = v.Store(&f.Namesake) })
			}
		default:
			continue
		}
		readServiceFacts(b, &f.Service)
	}
	if err := b.wait(); err != nil {
		return nil, err
	}
	out := make(map[string]SocketFacts, len(facts))
	for name, f := range facts {
		out[name] = *f
	}
	return out, nil
}

// readServiceFacts queues the reads of svc's properties on b.
func readServiceFacts(b propBatch, svc *ServiceFacts) {
	p := unitPath(svc.Unit)
	for prop, dst := range map[string]*string{
		"LoadState": &svc.LoadState, "ActiveState": &svc.ActiveState, "SubState": &svc.SubState,
		"SourcePath": &svc.SourcePath, "FragmentPath": &svc.FragmentPath, "UnitFileState": &svc.UnitFileState,
	} {
		b.get(p, unitIface, prop, func(v dbus.Variant) { _ = v.Store(dst) })
	}
	for prop, dst := range map[string]*[]string{"Requires": &svc.Requires, "Wants": &svc.Wants, "After": &svc.After} {
		b.get(p, unitIface, prop, func(v dbus.Variant) { _ = v.Store(dst) })
	}
	b.get(p, unitIface, "StartLimitBurst", func(v dbus.Variant) { _ = v.Store(&svc.StartLimitBurst) })
	b.get(p, unitIface, "StartLimitIntervalUSec", func(v dbus.Variant) { svc.StartLimitInterval = usecDuration(v) })
	for prop, dst := range map[string]*string{"Type": &svc.Type, "NotifyAccess": &svc.NotifyAccess, "Result": &svc.Result} {
		b.get(p, serviceIface, prop, func(v dbus.Variant) { _ = v.Store(dst) })
	}
	b.get(p, serviceIface, "TimeoutStartUSec", func(v dbus.Variant) { svc.TimeoutStart = usecDuration(v) })
	b.get(p, serviceIface, "ExecStart", func(v dbus.Variant) {
		var cmds []execCommand
		if v.Store(&cmds) == nil && len(cmds) > 0 {
			svc.Exec = argvs(cmds[:1])[0]
		}
	})
}

// usecDuration reads a duration property in microseconds; systemd's
// infinity (the largest uint64) is 0.
func usecDuration(v dbus.Variant) time.Duration {
	var us uint64
	if err := v.Store(&us); err != nil || us == ^uint64(0) || us > uint64(1<<63-1)/1000 {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}
