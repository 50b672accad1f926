//! The `process_*` metrics Prometheus clients conventionally export (CPU, memory, file
//! descriptors, threads, start time), read from `/proc/self` at each scrape through
//! `procfs`. prometheus-client ships no process collector. A value that cannot be read
//! (not Linux, `/proc` not mounted) is left out of the scrape rather than reported as 0.

use procfs::WithCurrentSystemInfo;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads `/proc/self` when the registry is encoded.
#[derive(Debug, Default)]
pub struct ProcessCollector;

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: Option<f64>,
) -> Result<(), std::fmt::Error> {
    let Some(value) = value else { return Ok(()) };
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let me = procfs::process::Process::myself().ok();
        let stat = me.as_ref().and_then(|me| me.stat().ok());
        let ticks = procfs::ticks_per_second() as f64;
        if let Some(stat) = &stat
            && ticks > 0.0
        {
            let cpu = ConstCounter::new((stat.utime + stat.stime) as f64 / ticks);
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                cpu.metric_type(),
            )?)?;
        }
        gauge(
            &mut encoder,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            stat.as_ref().map(|stat| stat.rss_bytes().get() as f64),
        )?;
        gauge(
            &mut encoder,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            stat.as_ref().map(|stat| stat.vsize as f64),
        )?;
        gauge(
            &mut encoder,
            "process_threads",
            "Number of OS threads in the process",
            stat.as_ref().map(|stat| stat.num_threads as f64),
        )?;
        gauge(
            &mut encoder,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            stat.as_ref()
                .zip(procfs::boot_time_secs().ok())
                .filter(|_| ticks > 0.0)
                .map(|(stat, boot)| boot as f64 + stat.starttime as f64 / ticks),
        )?;
        gauge(
            &mut encoder,
            "process_open_fds",
            "Number of open file descriptors",
            me.as_ref()
                .and_then(|me| me.fd_count().ok())
                .map(|count| count as f64),
        )?;
        let max_fds = me.as_ref().and_then(|me| me.limits().ok()).map(|limits| {
            match limits.max_open_files.soft_limit {
                procfs::process::LimitValue::Value(max) => max as f64,
                procfs::process::LimitValue::Unlimited => f64::INFINITY,
            }
        });
        gauge(
            &mut encoder,
            "process_max_fds",
            "Maximum number of open file descriptors",
            max_fds,
        )
    }
}
