//! `roc.svg`: the detector's ROC curve, one line per strategy, AUC in the legend.

use super::report::StrategyScore;
use crate::plot::draw::{color, fail, tick, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The figure: a title and (strategy, curve) pairs.
pub struct RocFigure {
    /// The title line.
    pub title: String,
    /// (strategy, (false positive rate, true positive rate) points).
    pub curves: Vec<(String, Vec<(f64, f64)>)>,
    /// The scores, for the legend's AUC.
    pub scores: Vec<StrategyScore>,
}

impl Figure for RocFigure {
    fn size(&self) -> (u32, u32) {
        (760, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(fail)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate (honest nodes flagged)")
            .y_desc("true positive rate (Byzantine nodes flagged)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(RGBColor(238, 238, 238))
            .max_light_lines(2)
            .draw()
            .map_err(fail)?;
        let chance = RGBColor(170, 170, 170).stroke_width(1);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                chance,
            )))
            .map_err(fail)?
            .label("chance (AUC 0.5)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], chance));
        for (i, (name, curve)) in self.curves.iter().enumerate() {
            let style = color(i).stroke_width(3);
            let auc = self
                .scores
                .iter()
                .find(|s| s.strategy == *name)
                .and_then(|s| s.auc)
                .map_or("n/a".to_owned(), |a| format!("{a:.3}"));
            chart
                .draw_series(LineSeries::new(curve.iter().copied(), style))
                .map_err(fail)?
                .label(format!("{name} (AUC {auc})"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(fail)
    }
}
