// Package ups talks to Network UPS Tools' upsd over the NUT network protocol
// (RFC 9271) and decides when a lab must shut down because its UPS is running
// out.
//
// Its parts:
//
//   - [Client] speaks the protocol: [Dial] or [NewClient], optional STARTTLS with
//     certificate pinning, USERNAME/PASSWORD, LOGIN/PRIMARY, every LIST and GET
//     command, SET VAR, INSTCMD with TRACKING, FSD. Per-UPS commands live on the
//     [Device] handle returned by [Client.Device]. Reading needs no login;
//     commands that do fail at once without [WithCredentials].
//   - Background work follows the SDK's vocabulary: [Device.StartInstCmd] and
//     [Device.StartSet] return a [Job] whose Wait follows upsd's TRACKING and
//     whose Log streams its progress; [Device.InstCmd] and [Device.Set] are
//     Start then Wait.
//   - Every error is an [*Error]. Its Code is the NUT error code ([Code]
//     constants such as [CodeVarNotSupported]); errors.Is matches the SDK's
//     class sentinels ([ErrNotFound], [ErrAuth], [ErrPermission],
//     [ErrConflict], [ErrInvalid], [ErrUnavailable], [ErrClosed]) and the few
//     a user acts on: [ErrUnknownUPS], [ErrDataStale], [ErrDriverNotConnected],
//     [ErrAccessDenied], [ErrTooLarge].
//   - [Machine] is a pure state machine over (status, poll result, clock) that
//     implements the shutdown [Policy]: debounce, triggers, latched decision.
//   - [Monitor] polls a [Poller] (normally a [Device]), feeds the machine,
//     reports NUT-style [Event] values (Kind, Time, Err) to its OnEvent and
//     calls a caller-supplied shutdown action once. The package never
//     imports a hypervisor SDK: the action is a function. A guard that
//     cannot act is no guard: the monitor's checks (MonitorConfig.Check,
//     and [Device.CheckPrimary] when it will forward FSD) run before the
//     first poll, refusing the start when they fail, and again while it
//     watches, reporting EventNotReady.
//
// Values are converted at the boundary: [Status] flags, charge in percent,
// runtime as a time.Duration, voltages and load as float64. A variable the UPS
// does not report is absent ([Optional].Valid is false), never zero.
//
// The sibling package upstest is an in-process NUT server for tests.
package ups
