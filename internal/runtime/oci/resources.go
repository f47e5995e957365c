package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
)

const (
	minShares     = 2
	sharesPerCPU  = 1024
	quotaPeriod   = 100000 // 100 ms, in µs
	minQuotaValue = 1000
)

// MilliCPUToShares converts CPU milli-cores to cgroup v1 cpu.shares as the
// kubelet does.
func MilliCPUToShares(milli int64) uint64 {
	if milli == 0 {
		return minShares
	}
	shares := milli * sharesPerCPU / 1000
	if shares < minShares {
		return minShares
	}
	return uint64(shares)
}

// MilliCPUToQuota converts a CPU limit to a CFS quota for quotaPeriod.
func MilliCPUToQuota(milli int64) int64 {
	if milli == 0 {
		return 0
	}
	q := milli * quotaPeriod / 1000
	if q < minQuotaValue {
		return minQuotaValue
	}
	return q
}

// Resources maps requests and limits to cgroup settings: cpu shares from
// the request (the limit when only a limit is set), CFS quota from the CPU
// limit, memory limit. Devices are denied except runc's defaults, or all
// allowed for a privileged container.
func Resources(r v1.ResourceRequirements, privileged bool) *specs.LinuxResources {
	out := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: privileged, Access: "rwm"}},
	}
	cpuReq := r.Requests.Cpu().MilliValue()
	cpuLim := r.Limits.Cpu().MilliValue()
	if cpuReq == 0 && cpuLim != 0 {
		cpuReq = cpuLim
	}
	shares := MilliCPUToShares(cpuReq)
	out.CPU = &specs.LinuxCPU{Shares: &shares}
	if cpuLim != 0 {
		q := MilliCPUToQuota(cpuLim)
		p := uint64(quotaPeriod)
		out.CPU.Quota, out.CPU.Period = &q, &p
	}
	if mem := r.Limits.Memory().Value(); mem != 0 {
		out.Memory = &specs.LinuxMemory{Limit: &mem}
	}
	return out
}
