//! Learning-rate schedules, shared by every training loop (both Kronos stages and the
//! classifier).

/// One-cycle learning rate (PyTorch's `OneCycleLR` with cosine annealing): from max/10 up to
/// max over the first 3 % of steps, then down to max/1e5.
pub fn one_cycle(max_lr: f64, step: usize, total: usize) -> f64 {
    let warm = ((total as f64) * 0.03).max(1.0);
    let (start, end) = (max_lr / 10.0, max_lr / 1e5);
    let cos = |from: f64, to: f64, t: f64| {
        to + (from - to) * (1.0 + (std::f64::consts::PI * t.clamp(0.0, 1.0)).cos()) / 2.0
    };
    let s = step as f64;
    if s < warm {
        cos(start, max_lr, s / warm)
    } else {
        cos(max_lr, end, (s - warm) / ((total as f64) - warm).max(1.0))
    }
}

/// Cosine decay from `max_lr` to max/1e3 after a linear warm-up over the first 3 % of steps.
pub fn cosine(max_lr: f64, step: usize, total: usize) -> f64 {
    let warm = ((total as f64) * 0.03).max(1.0);
    let s = step as f64;
    if s < warm {
        return max_lr * (s + 1.0) / warm;
    }
    let t = ((s - warm) / ((total as f64) - warm).max(1.0)).clamp(0.0, 1.0);
    let end = max_lr / 1e3;
    end + (max_lr - end) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_warms_up_linearly_then_decays() {
        let lr = |s| cosine(1e-3, s, 1000);
        assert!((lr(29) - 1e-3).abs() < 1e-12);
        assert!(lr(0) < lr(10));
        assert!(lr(600) < lr(300));
        assert!((lr(1000) - 1e-6).abs() < 1e-12);
    }

    #[test]
    fn one_cycle_warms_up_then_anneals() {
        let lr = |s| one_cycle(1e-3, s, 1000);
        assert!((lr(0) - 1e-4).abs() < 1e-12);
        assert!((lr(30) - 1e-3).abs() < 1e-9);
        assert!(lr(500) < lr(100));
        assert!((lr(1000) - 1e-8).abs() < 1e-10);
    }
}
