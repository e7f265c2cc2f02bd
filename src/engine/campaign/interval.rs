//! Intervals of a campaign read-out (SPEC §7): Wilson's score interval for each group's dormant
//! rate, and Newcombe's hybrid score interval for their difference. Both stay inside [0, 1] and
//! behave at rates of 0 and 1 and at small counts, where the normal approximation does not.

/// z for a two-sided 90% interval: Φ⁻¹(0.95).
pub const Z90: f64 = 1.644_853_626_951_472_2;

/// Wilson's score interval of `x` successes in `n` trials; `None` when `n` is 0.
pub fn wilson(x: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 || x > n {
        return None;
    }
    let (x, n) = (x as f64, n as f64);
    let z2 = z * z;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = z / (n + z2) * (x * (n - x) / n + z2 / 4.0).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The difference of two rates `x1/n1 − x2/n2` and its interval by Newcombe's hybrid score
/// method (his method 10, 1998); `None` when either group is empty.
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<(f64, f64, f64)> {
    let (l1, u1) = wilson(x1, n1, z)?;
    let (l2, u2) = wilson(x2, n2, z)?;
    let p1 = x1 as f64 / n1 as f64;
    let p2 = x2 as f64 / n2 as f64;
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((d, low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z95: f64 = 1.959_963_984_540_054;

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I:
        // 81/263 → 0.2553–0.3662 (95%, score method without continuity correction).
        let (l, u) = wilson(81, 263, Z95).unwrap();
        assert!(
            (l - 0.2553).abs() < 5e-5 && (u - 0.3662).abs() < 5e-5,
            "{l} {u}"
        );
        // 0/10 → 0–0.2775.
        let (l, u) = wilson(0, 10, Z95).unwrap();
        assert!(l == 0.0 && (u - 0.2775).abs() < 5e-5, "{l} {u}");
        assert_eq!(wilson(0, 0, Z95), None);
    }

    #[test]
    fn newcombe_matches_published_values() {
        // Newcombe (1998), "Interval estimation for the difference between independent
        // proportions", Table II, method 10: 56/70 − 48/80 → 0.0524–0.3339; 9/10 − 3/10 →
        // 0.1705–0.8090; 5/56 − 0/29 → −0.0381–0.1926.
        for (x1, n1, x2, n2, lo, hi) in [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (5, 56, 0, 29, -0.0381, 0.1926),
        ] {
            let (_, l, u) = newcombe(x1, n1, x2, n2, Z95).unwrap();
            assert!(
                (l - lo).abs() < 5e-5 && (u - hi).abs() < 5e-5,
                "{x1}/{n1} − {x2}/{n2}: {l} {u}"
            );
        }
        assert_eq!(newcombe(1, 2, 0, 0, Z90), None);
    }
}
