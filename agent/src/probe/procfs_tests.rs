//! Tests of the `/proc` text parsers: real kernel output (captured from a 6.18 kernel, the
//! same text as `tests/fixtures/hosts/k3s-server`), old-kernel variants, and hostile input.

use proptest::prelude::*;

use super::*;

const MEMINFO: &str = "MemTotal:       24684084 kB\nMemFree:        21588948 kB\n\
                       MemAvailable:   24237016 kB\nBuffers:            9788 kB\n\
                       HugePages_Total:       0\nHugepagesize:       2048 kB\n";

#[test]
fn meminfo_reads_total_and_available_in_bytes() {
    let m = meminfo(MEMINFO).expect("parses");
    assert_eq!(m.total_bytes, 24_684_084 * 1024);
    assert_eq!(m.available_bytes, 24_237_016 * 1024);
}

#[test]
fn meminfo_without_mem_available_is_refused_not_estimated() {
    let old_kernel = "MemTotal:       24684084 kB\nMemFree:        21588948 kB\n";
    assert_eq!(
        meminfo(old_kernel),
        Err(ParseError::Missing {
            field: "MemAvailable"
        })
    );
}

#[test]
fn meminfo_cut_off_mid_number_is_refused_not_read_short() {
    let truncated =
        "MemTotal:       24684084 kB\nMemFree:        21588948 kB\nMemAvailable:   24237";
    assert!(matches!(
        meminfo(truncated),
        Err(ParseError::Invalid {
            field: "MemAvailable",
            ..
        })
    ));
}

#[test]
fn meminfo_refuses_values_that_overflow_once_in_bytes() {
    let huge = format!("MemTotal: {} kB\nMemAvailable: 1 kB\n", u64::MAX / 1024 + 1);
    assert_eq!(
        meminfo(&huge),
        Err(ParseError::Overflow {
            field: "MemTotal",
            unit: "bytes"
        })
    );
    let too_long = "MemTotal: 99999999999999999999999 kB\nMemAvailable: 1 kB\n";
    assert!(matches!(meminfo(too_long), Err(ParseError::Invalid { .. })));
}

#[test]
fn meminfo_refuses_empty_and_signed_input() {
    assert_eq!(meminfo(""), Err(ParseError::Missing { field: "MemTotal" }));
    assert!(meminfo("MemTotal: -1 kB\nMemAvailable: 1 kB").is_err());
    assert!(meminfo("MemTotal: +1 kB\nMemAvailable: 1 kB").is_err());
}

#[test]
fn psi_reads_some_and_full_lines() {
    let io = "some avg10=0.07 avg60=0.52 avg300=0.65 total=33901328\n\
              full avg10=0.00 avg60=0.29 avg300=0.48 total=25864939\n";
    let r = psi_resource(io).expect("parses");
    assert_eq!(
        r.some,
        PsiLine {
            avg10: 0.07,
            avg60: 0.52,
            avg300: 0.65,
            total_us: 33_901_328
        }
    );
    assert_eq!(r.full.map(|f| f.total_us), Some(25_864_939));
    assert_eq!(r.full.map(|f| f.avg60), Some(0.29));
}

#[test]
fn psi_cpu_without_full_line_from_kernels_before_5_13_is_accepted() {
    let cpu = "some avg10=5.42 avg60=6.27 avg300=5.70 total=638499004\n";
    let r = psi_resource(cpu).expect("parses");
    assert_eq!(r.some.total_us, 638_499_004);
    assert_eq!(r.full, None);
}

#[test]
fn psi_skips_unknown_keys_and_lines_from_newer_kernels() {
    let text = "some avg10=1.00 avg60=2.00 avg300=3.00 total=4 avg1800=9.00\nirq x\n";
    assert_eq!(psi_resource(text).expect("parses").some.avg300, 3.0);
}

#[test]
fn psi_refuses_missing_some_missing_keys_and_non_numbers() {
    assert_eq!(psi_resource(""), Err(ParseError::Missing { field: "some" }));
    assert_eq!(
        psi_resource("some avg10=1.00 avg60=2.00 avg300=3.00"),
        Err(ParseError::Missing { field: "total" })
    );
    for bad in ["NaN", "inf", "-1.00", "1e3", "1.", ".5", "+1.0", "1.2.3"] {
        let text = format!("some avg10={bad} avg60=0.00 avg300=0.00 total=0");
        assert!(psi_resource(&text).is_err(), "{bad} accepted");
    }
    assert!(psi_resource("some avg10 avg60=0.00").is_err());
}

#[test]
fn psi_refuses_a_number_too_large_for_f32() {
    let huge = "9".repeat(60);
    let text = format!("some avg10={huge}.00 avg60=0.00 avg300=0.00 total=0");
    assert!(psi_resource(&text).is_err());
}

#[test]
fn loadavg_reads_loads_and_the_total_task_count() {
    let l = loadavg("1.16 1.50 1.63 3/86 24902\n").expect("parses");
    assert_eq!(
        l.load,
        Load {
            one: 1.16,
            five: 1.50,
            fifteen: 1.63
        }
    );
    assert_eq!(l.tasks, 86);
}

#[test]
fn loadavg_refuses_truncated_and_malformed_text() {
    assert_eq!(loadavg(""), Err(ParseError::Missing { field: "load1" }));
    assert_eq!(
        loadavg("1.16 1.50 1.63"),
        Err(ParseError::Missing {
            field: "running/total"
        })
    );
    assert!(loadavg("1.16 1.50 1.63 386 24902").is_err());
    assert!(loadavg("1.16 1.50 1.63 3/ 24902").is_err());
    assert!(loadavg("1.16 1.50 1.63 3/99999999999999999999999 1").is_err());
}

#[test]
fn uptime_is_whole_seconds_since_boot() {
    assert_eq!(uptime_secs("3950.46 2166.63\n"), Ok(3950));
    assert_eq!(uptime_secs("17"), Ok(17));
    assert!(uptime_secs("").is_err());
    assert!(uptime_secs("-3.00 1.00").is_err());
    assert!(uptime_secs("3.x 1.00").is_err());
}

#[test]
fn integer_files_are_trimmed_and_must_be_plain_digits() {
    assert_eq!(integer("pid_max", "32768\n"), Ok(32_768));
    assert!(integer("pid_max", "").is_err());
    assert!(integer("pid_max", "-1\n").is_err());
    assert!(integer("pid_max", "4 194 304").is_err());
}

#[test]
fn boot_id_becomes_the_uuid_bytes() {
    let id = boot_id("d703c74f-0c16-424f-88b5-a2513d435206\n").expect("parses");
    assert_eq!(
        id.0,
        [
            0xd7, 0x03, 0xc7, 0x4f, 0x0c, 0x16, 0x42, 0x4f, 0x88, 0xb5, 0xa2, 0x51, 0x3d, 0x43,
            0x52, 0x06
        ]
    );
}

#[test]
fn boot_id_refuses_anything_but_a_uuid() {
    for bad in [
        "",
        "d703c74f0c16424f88b5a2513d435206",
        "d703c74f-0c16-424f-88b5-a2513d43520",
        "d703c74f-0c16-424f-88b5-a2513d4352060",
        "g703c74f-0c16-424f-88b5-a2513d435206",
        "d703c74f-0c16-424f-88b5a-2513d435206",
        "é703c74f-0c16-424f-88b5-a2513d4352",
    ] {
        assert!(boot_id(bad).is_err(), "{bad:?} accepted");
    }
}

proptest! {
    #[test]
    fn no_parser_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = meminfo(&text);
        let _ = psi_resource(&text);
        let _ = loadavg(&text);
        let _ = uptime_secs(&text);
        let _ = integer("f", &text);
        let _ = boot_id(&text);
    }

    #[test]
    fn no_parser_panics_on_near_miss_kernel_text(
        text in "((MemTotal|MemAvailable|some|full|avg10|total)[:= ]{0,2}[0-9.kB/ -]{0,24}\n?){0,6}"
    ) {
        let _ = meminfo(&text);
        let _ = psi_resource(&text);
        let _ = loadavg(&text);
        let _ = uptime_secs(&text);
        let _ = boot_id(&text);
    }

    #[test]
    fn meminfo_reads_back_every_value_that_fits_in_bytes(
        total in 0..=u64::MAX / 1024,
        available in 0..=u64::MAX / 1024,
    ) {
        let text = format!(
            "MemTotal: {total:>14} kB\nMemFree: 0 kB\nMemAvailable: {available:>14} kB\n"
        );
        let m = meminfo(&text).expect("valid meminfo");
        prop_assert_eq!(m.total_bytes, total * 1024);
        prop_assert_eq!(m.available_bytes, available * 1024);
    }

    #[test]
    fn loadavg_reads_back_any_task_count(running in any::<u64>(), tasks in any::<u64>()) {
        let text = format!("0.00 0.01 0.05 {running}/{tasks} 1\n");
        prop_assert_eq!(loadavg(&text).expect("valid loadavg").tasks, tasks);
    }
}
