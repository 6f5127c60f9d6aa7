// Package wire is the Mesos v1 scheduler HTTP API as both sides of it
// in sparkhub speak it: the framework (spawner/mesos) and the emulated
// master (spawner/mesos/mesostest). It holds the calls and events, in
// the JSON that Mesos reads and writes (stout's protobuf mapping:
// snake_case names, enums as their names, bytes as standard base64,
// unknown fields ignored), the RecordIO framing of the event stream, and
// the arithmetic of the resources offers and tasks carry. Only the fields
// sparkhub and its emulator use are declared; both ignore the rest.
//
// A call the framework sends is a Call with its type and the one field
// of that type set; framework_id is set on every call but SUBSCRIBE of a
// new framework.
package wire

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ID is FrameworkID, OfferID, AgentID, TaskID, ExecutorID, ...
type ID struct {
	Value string `json:"value"`
}

// Number is a JSON number that also accepts a numeric string, as Mesos
// does for every numeric field.
type Number float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	switch s {
	case "Infinity":
		s = "+Inf"
	case "-Infinity":
		s = "-Inf"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = Number(f)
	return nil
}

// Call is a scheduler call.
type Call struct {
	FrameworkID *ID        `json:"framework_id,omitempty"`
	Type        string     `json:"type,omitempty"`
	Subscribe   *Subscribe `json:"subscribe,omitempty"`
	Accept      *Accept    `json:"accept,omitempty"`
	Decline     *Decline   `json:"decline,omitempty"`
	Revive      *RoleList  `json:"revive,omitempty"`
	Suppress    *RoleList  `json:"suppress,omitempty"`
	Kill        *Kill      `json:"kill,omitempty"`
	Acknowledge *Ack       `json:"acknowledge,omitempty"`
	Reconcile   *Reconcile `json:"reconcile,omitempty"`
	Shutdown    *struct{}  `json:"shutdown,omitempty"`
	Message     *struct{}  `json:"message,omitempty"`
	Request     *struct{}  `json:"request,omitempty"`
	Update      *Subscribe `json:"update_framework,omitempty"`
}

// Subscribe is Call.Subscribe (and Call.UpdateFramework).
type Subscribe struct {
	FrameworkInfo   *FrameworkInfo `json:"framework_info,omitempty"`
	SuppressedRoles []string       `json:"suppressed_roles,omitempty"`
}

// FrameworkInfo describes the framework.
type FrameworkInfo struct {
	User            *string      `json:"user,omitempty"`
	Name            *string      `json:"name,omitempty"`
	ID              *ID          `json:"id,omitempty"`
	FailoverTimeout Number       `json:"failover_timeout"`
	Checkpoint      bool         `json:"checkpoint"`
	Role            string       `json:"role,omitempty"`
	Roles           []string     `json:"roles,omitempty"`
	Hostname        string       `json:"hostname,omitempty"`
	Principal       string       `json:"principal,omitempty"`
	WebUIURL        string       `json:"webui_url,omitempty"`
	Capabilities    []Capability `json:"capabilities,omitempty"`
	Labels          *Labels      `json:"labels,omitempty"`
}

// Capability is a FrameworkInfo capability.
type Capability struct {
	Type string `json:"type"`
}

// Has reports whether the framework declares capability c.
func (f *FrameworkInfo) Has(c string) bool {
	for _, x := range f.Capabilities {
		if x.Type == c {
			return true
		}
	}
	return false
}

// Filters go with ACCEPT and DECLINE.
type Filters struct {
	RefuseSeconds *Number `json:"refuse_seconds,omitempty"`
}

// Accept is Call.Accept.
type Accept struct {
	OfferIDs   []ID        `json:"offer_ids,omitempty"`
	Operations []Operation `json:"operations,omitempty"`
	Filters    *Filters    `json:"filters,omitempty"`
}

// Decline is Call.Decline.
type Decline struct {
	OfferIDs []ID     `json:"offer_ids,omitempty"`
	Filters  *Filters `json:"filters,omitempty"`
}

// RoleList is Call.Revive and Call.Suppress.
type RoleList struct {
	Roles []string `json:"roles,omitempty"`
}

// Kill is Call.Kill.
type Kill struct {
	TaskID     *ID         `json:"task_id,omitempty"`
	AgentID    *ID         `json:"agent_id,omitempty"`
	KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
}

// Ack is Call.Acknowledge.
type Ack struct {
	AgentID *ID    `json:"agent_id,omitempty"`
	TaskID  *ID    `json:"task_id,omitempty"`
	UUID    []byte `json:"uuid,omitempty"`
}

// Reconcile is Call.Reconcile.
type Reconcile struct {
	Tasks []ReconcileTask `json:"tasks,omitempty"`
}

// ReconcileTask names one task to reconcile.
type ReconcileTask struct {
	TaskID  *ID `json:"task_id,omitempty"`
	AgentID *ID `json:"agent_id,omitempty"`
}

// Operation is Offer.Operation.
type Operation struct {
	Type   string  `json:"type"`
	ID     *ID     `json:"id,omitempty"`
	Launch *Launch `json:"launch,omitempty"`
}

// Launch is Offer.Operation.Launch.
type Launch struct {
	TaskInfos []TaskInfo `json:"task_infos,omitempty"`
}

// Event is one record of the subscription stream.
type Event struct {
	Type       string       `json:"type"`
	Subscribed *Subscribed  `json:"subscribed,omitempty"`
	Offers     *Offers      `json:"offers,omitempty"`
	Rescind    *Rescind     `json:"rescind,omitempty"`
	Update     *Update      `json:"update,omitempty"`
	Failure    *FailureInfo `json:"failure,omitempty"`
	Error      *ErrorInfo   `json:"error,omitempty"`
}

// Subscribed is Event.Subscribed.
type Subscribed struct {
	FrameworkID              ID          `json:"framework_id"`
	HeartbeatIntervalSeconds Number      `json:"heartbeat_interval_seconds"`
	MasterInfo               *MasterInfo `json:"master_info,omitempty"`
}

// MasterInfo describes a master (also the data of ZooKeeper's json.info_
// nodes).
type MasterInfo struct {
	ID       string   `json:"id"`
	IP       uint32   `json:"ip"`
	Port     int      `json:"port"`
	PID      string   `json:"pid,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	Version  string   `json:"version,omitempty"`
	Address  *Address `json:"address,omitempty"`
}

// Address is a network address.
type Address struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     int    `json:"port"`
}

// Offers is Event.Offers.
type Offers struct {
	Offers []Offer `json:"offers,omitempty"`
}

// Rescind is Event.Rescind.
type Rescind struct {
	OfferID ID `json:"offer_id"`
}

// Update is Event.Update.
type Update struct {
	Status TaskStatus `json:"status"`
}

// FailureInfo is Event.Failure.
type FailureInfo struct {
	AgentID    *ID  `json:"agent_id,omitempty"`
	ExecutorID *ID  `json:"executor_id,omitempty"`
	Status     *int `json:"status,omitempty"`
}

// ErrorInfo is Event.Error.
type ErrorInfo struct {
	Message string `json:"message"`
}

// Offer is a set of resources on one agent.
type Offer struct {
	ID             ID              `json:"id"`
	FrameworkID    ID              `json:"framework_id"`
	AgentID        ID              `json:"agent_id"`
	Hostname       string          `json:"hostname"`
	URL            *OfferURL       `json:"url,omitempty"`
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
	Resources      []Resource      `json:"resources,omitempty"`
	Attributes     []Attribute     `json:"attributes,omitempty"`
	ExecutorIDs    []ID            `json:"executor_ids,omitempty"`
}

// OfferURL is the agent's URL in an offer.
type OfferURL struct {
	Scheme  string  `json:"scheme"`
	Address Address `json:"address"`
	Path    string  `json:"path,omitempty"`
}

// AllocationInfo names the role resources are allocated to.
type AllocationInfo struct {
	Role string `json:"role,omitempty"`
}

// Resource is a named scalar or set of ranges.
type Resource struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Scalar *Scalar `json:"scalar,omitempty"`
	Ranges *Ranges `json:"ranges,omitempty"`
	Set    *Set    `json:"set,omitempty"`
	// Role is the role the resource is reserved for, "*" (or unset)
	// when unreserved: the format of frameworks without
	// RESERVATION_REFINEMENT.
	Role string `json:"role,omitempty"`
	// Reservation is set on dynamically reserved resources.
	Reservation    *ReservationInfo `json:"reservation,omitempty"`
	AllocationInfo *AllocationInfo  `json:"allocation_info,omitempty"`
}

// ReservationInfo is Resource.Reservation: who made a dynamic
// reservation. A task uses reserved resources by naming them as offered.
type ReservationInfo struct {
	Principal string  `json:"principal,omitempty"`
	Labels    *Labels `json:"labels,omitempty"`
}

// Scalar is Value.Scalar.
type Scalar struct {
	Value Number `json:"value"`
}

// Ranges is Value.Ranges.
type Ranges struct {
	Range []Range `json:"range,omitempty"`
}

// Range is an inclusive range.
type Range struct {
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// Set is Value.Set.
type Set struct {
	Item []string `json:"item,omitempty"`
}

// Text is Value.Text.
type Text struct {
	Value string `json:"value"`
}

// Attribute is an agent attribute.
type Attribute struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Scalar *Scalar `json:"scalar,omitempty"`
	Ranges *Ranges `json:"ranges,omitempty"`
	Set    *Set    `json:"set,omitempty"`
	Text   *Text   `json:"text,omitempty"`
}

// String formats the attribute's value the way Marathon compares it:
// text as is, scalars as numbers, ranges as [a-b,c-d], sets as {a,b}.
func (a Attribute) String() string {
	switch {
	case a.Text != nil:
		return a.Text.Value
	case a.Scalar != nil:
		return strconv.FormatFloat(float64(a.Scalar.Value), 'f', -1, 64)
	case a.Ranges != nil:
		var parts []string
		for _, r := range a.Ranges.Range {
			parts = append(parts, fmt.Sprintf("%d-%d", r.Begin, r.End))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case a.Set != nil:
		return "{" + strings.Join(a.Set.Item, ",") + "}"
	}
	return ""
}

// TaskInfo describes a task to launch.
type TaskInfo struct {
	Name       string         `json:"name"`
	TaskID     *ID            `json:"task_id,omitempty"`
	AgentID    *ID            `json:"agent_id,omitempty"`
	Resources  []Resource     `json:"resources,omitempty"`
	Command    *CommandInfo   `json:"command,omitempty"`
	Executor   *struct{}      `json:"executor,omitempty"`
	Container  *ContainerInfo `json:"container,omitempty"`
	KillPolicy *KillPolicy    `json:"kill_policy,omitempty"`
	Labels     *Labels        `json:"labels,omitempty"`
	// HealthCheck, when set, is run by the agent's executor.
	HealthCheck *HealthCheck `json:"health_check,omitempty"`
}

// HealthCheck is TaskInfo.HealthCheck: an HTTP GET, a TCP connect or a
// command, against 127.0.0.1 in the task's network. Unset numbers take
// Mesos's defaults (delay 15 s, interval 10 s, timeout 20 s, 3
// consecutive failures, grace 10 s).
type HealthCheck struct {
	Type                string       `json:"type"`
	Command             *CommandInfo `json:"command,omitempty"`
	HTTP                *HTTPCheck   `json:"http,omitempty"`
	TCP                 *TCPCheck    `json:"tcp,omitempty"`
	DelaySeconds        *float64     `json:"delay_seconds,omitempty"`
	IntervalSeconds     *float64     `json:"interval_seconds,omitempty"`
	TimeoutSeconds      *float64     `json:"timeout_seconds,omitempty"`
	ConsecutiveFailures *uint32      `json:"consecutive_failures,omitempty"`
	GracePeriodSeconds  *float64     `json:"grace_period_seconds,omitempty"`
}

// HTTPCheck is HealthCheck.HTTP.
type HTTPCheck struct {
	Scheme string `json:"scheme,omitempty"`
	Port   uint32 `json:"port"`
	Path   string `json:"path,omitempty"`
}

// TCPCheck is HealthCheck.TCP.
type TCPCheck struct {
	Port uint32 `json:"port"`
}

// CommandInfo is what a task runs.
type CommandInfo struct {
	Shell       *bool        `json:"shell,omitempty"`
	Value       *string      `json:"value,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	User        string       `json:"user,omitempty"`
}

// Environment is CommandInfo.Environment.
type Environment struct {
	Variables []Variable `json:"variables,omitempty"`
}

// Variable is one environment variable.
type Variable struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Value string `json:"value"`
}

// ContainerInfo is TaskInfo.Container.
type ContainerInfo struct {
	Type    string      `json:"type,omitempty"`
	Docker  *DockerInfo `json:"docker,omitempty"`
	Mesos   *MesosInfo  `json:"mesos,omitempty"`
	Volumes []Volume    `json:"volumes,omitempty"`
}

// Volume is a path of the agent's in the container (ContainerInfo.volumes).
type Volume struct {
	ContainerPath string `json:"container_path"`
	HostPath      string `json:"host_path,omitempty"`
	Mode          string `json:"mode"` // RO or RW
}

// DockerInfo is ContainerInfo.Docker.
type DockerInfo struct {
	Image          string        `json:"image,omitempty"`
	Network        string        `json:"network,omitempty"`
	PortMappings   []PortMapping `json:"port_mappings,omitempty"`
	Parameters     []Parameter   `json:"parameters,omitempty"`
	ForcePullImage bool          `json:"force_pull_image"`
	Privileged     bool          `json:"privileged"`
}

// PortMapping maps a host port to a container port.
type PortMapping struct {
	HostPort      uint64 `json:"host_port"`
	ContainerPort uint64 `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
}

// Parameter is a docker run option.
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// MesosInfo is ContainerInfo.Mesos.
type MesosInfo struct {
	Image *Image `json:"image,omitempty"`
}

// Image is a container image for the Mesos containerizer.
type Image struct {
	Type   string       `json:"type"`
	Docker *DockerImage `json:"docker,omitempty"`
	Cached bool         `json:"cached"`
}

// DockerImage names a Docker image.
type DockerImage struct {
	Name string `json:"name"`
}

// KillPolicy is how long a task has between SIGTERM and SIGKILL.
type KillPolicy struct {
	GracePeriod *DurationInfo `json:"grace_period,omitempty"`
}

// DurationInfo is a duration in nanoseconds.
type DurationInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// Labels are key/value pairs.
type Labels struct {
	Labels []Label `json:"labels,omitempty"`
}

// Label is one key/value pair.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// TaskStatus is a task's state as the master or an agent reports it.
type TaskStatus struct {
	TaskID          ID               `json:"task_id"`
	State           string           `json:"state"`
	Message         string           `json:"message,omitempty"`
	Source          string           `json:"source,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	AgentID         *ID              `json:"agent_id,omitempty"`
	ExecutorID      *ID              `json:"executor_id,omitempty"`
	Timestamp       Number           `json:"timestamp,omitempty"`
	UUID            []byte           `json:"uuid,omitempty"`
	Healthy         *bool            `json:"healthy,omitempty"`
	ContainerStatus *ContainerStatus `json:"container_status,omitempty"`
}

// ContainerStatus is TaskStatus.ContainerStatus.
type ContainerStatus struct {
	ContainerID  *ID           `json:"container_id,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
}

// NetworkInfo is a container's network.
type NetworkInfo struct {
	IPAddresses []IPAddress `json:"ip_addresses,omitempty"`
}

// IPAddress is one address of a container.
type IPAddress struct {
	Protocol  string `json:"protocol"`
	IPAddress string `json:"ip_address,omitempty"`
}

// Terminal reports whether state is one a task never leaves. TASK_LOST,
// TASK_UNREACHABLE, TASK_GONE_BY_OPERATOR and TASK_UNKNOWN are not: the
// task may come back.
func Terminal(state string) bool {
	switch state {
	case "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE":
		return true
	}
	return false
}

// maxRecord caps one RecordIO record (offers from many agents are big).
const maxRecord = 64 << 20

// RecordReader reads RecordIO: "<decimal length>\n<bytes>" repeated, with
// no assumption about how records fall into HTTP chunks.
type RecordReader struct{ r *bufio.Reader }

// NewRecordReader reads records from r.
func NewRecordReader(r io.Reader) *RecordReader {
	return &RecordReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next record.
func (rr *RecordReader) Next() ([]byte, error) {
	line, err := rr.r.ReadString('\n')
	if err != nil {
		if err == io.EOF && line != "" {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(line, "\n"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("recordio: bad length %q", strings.TrimSpace(line))
	}
	if n == 0 || n > maxRecord {
		return nil, fmt.Errorf("recordio: record length %d out of range", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rr.r, buf); err != nil {
		if err == io.EOF {
			// A length line with no record after it is a cut stream,
			// not a clean end.
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("recordio: %w", err)
	}
	return buf, nil
}

// AppendRecord appends v as one RecordIO record of its JSON.
func AppendRecord(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	if len(b) == 0 {
		return dst, errors.New("recordio: empty record")
	}
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, '\n')
	return append(dst, b...), nil
}
