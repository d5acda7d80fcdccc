//! Figures and backends: the bundled font, the colours, and writing a figure as SVG or PNG.

use super::cdf::{self, Cdf};
use super::input::RunData;
use super::progress::{self, Progress};
use super::sweep::{self, Sweep};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

/// The output format, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.svg`: vector, text as `<text>` elements.
    Svg,
    /// `.png`: raster, text drawn with the bundled font.
    Png,
}

impl Format {
    /// The format of `path` (`.svg` or `.png`, any case).
    pub fn of(path: &Path) -> Result<Format, PlotError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
        {
            Some(e) if e == "svg" => Ok(Format::Svg),
            Some(e) if e == "png" => Ok(Format::Png),
            _ => Err(PlotError::Format {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Registers the bundled Noto Sans as plotters' `sans-serif`, `serif` and `monospace` (once).
pub fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a valid TrueType font shipped by the crate; should plotters reject
            // them, text drawing reports an error instead of panicking.
            let _ = register_font(family, FontStyle::Normal, ttf_noto_sans::REGULAR);
        }
    });
}

/// The colour of series `i` (the ten "tab10" colours, repeating).
pub fn color(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[i % TAB10.len()];
    RGBColor(r, g, b)
}

/// An axis tick value without needless decimals (`500`, `0.25`, `1.5`).
pub fn tick(v: &f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// A plotters error as text.
pub fn fail<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Something that draws itself on any backend at a fixed size.
pub trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure into `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Writes `fig` to `path` as SVG or PNG (by extension), creating the directory.
pub fn write_figure<F: Figure>(fig: &F, path: &Path) -> Result<(), PlotError> {
    let format = Format::of(path)?;
    ensure_font();
    let failed = |message: String| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let write_err = |source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    match format {
        Format::Svg => {
            let svg = svg_string(fig).map_err(failed)?;
            crate::util::atomic::write_atomic(path, svg.as_bytes()).map_err(write_err)
        }
        Format::Png => {
            let root = BitMapBackend::new(path, fig.size()).into_drawing_area();
            fig.draw(&root).map_err(failed)?;
            root.present().map_err(|e| failed(e.to_string()))
        }
    }
}

/// `fig` as SVG text.
pub fn svg_string<F: Figure>(fig: &F) -> Result<String, String> {
    ensure_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, fig.size()).into_drawing_area();
        fig.draw(&root)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

/// One line naming the run: scenario, seed, engine, nodes and adversary.
pub fn run_title(run: &RunData) -> String {
    match &run.summary {
        Some(s) => format!(
            "{} (seed {}): {} {} mode, {} nodes, {} byzantine{}",
            s.scenario,
            s.seed,
            s.engine,
            s.mode,
            s.nodes,
            s.byzantine.count,
            s.byzantine
                .strategy
                .as_ref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default()
        ),
        None => run.trace.display().to_string(),
    }
}

/// The progress chart alone.
pub struct ProgressFigure(pub Progress);

impl Figure for ProgressFigure {
    fn size(&self) -> (u32, u32) {
        (960, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(fail)?;
        progress::draw(root, &self.0)
    }
}

/// The finality CDF alone.
pub struct CdfFigure(pub Cdf);

impl Figure for CdfFigure {
    fn size(&self) -> (u32, u32) {
        (960, 520)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(fail)?;
        cdf::draw(root, &self.0)
    }
}

/// A run's figure: a title line, the progress chart above the finality CDF.
pub struct RunFigure {
    /// The title line.
    pub title: String,
    /// The upper panel.
    pub progress: Progress,
    /// The lower panel.
    pub cdf: Cdf,
}

impl RunFigure {
    /// The figure of `run`.
    pub fn of(run: &RunData) -> Self {
        RunFigure {
            title: run_title(run),
            progress: progress::progress(run),
            cdf: cdf::cdf(run),
        }
    }
}

impl Figure for RunFigure {
    fn size(&self) -> (u32, u32) {
        (1000, 1080)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(fail)?;
        let body = root.titled(&self.title, ("sans-serif", 24)).map_err(fail)?;
        let panels = body.split_evenly((2, 1));
        progress::draw(&panels[0], &self.progress)?;
        cdf::draw(&panels[1], &self.cdf)
    }
}

/// Writes the figure of `run` (progress above CDF) to `path` (`.svg` or `.png`).
pub fn write_run_figure(run: &RunData, path: &Path) -> Result<(), PlotError> {
    write_figure(&RunFigure::of(run), path)
}

/// Writes the progress chart of `run` alone to `path`.
pub fn write_progress(run: &RunData, path: &Path) -> Result<(), PlotError> {
    write_figure(&ProgressFigure(progress::progress(run)), path)
}

/// Writes the finality CDF of `run` alone to `path`.
pub fn write_cdf(run: &RunData, path: &Path) -> Result<(), PlotError> {
    write_figure(&CdfFigure(cdf::cdf(run)), path)
}

/// Writes the figure of a sweep (finality against the varied key, heat maps) to `path`.
pub fn write_sweep_figure(s: &Sweep, path: &Path) -> Result<(), PlotError> {
    write_figure(&sweep::SweepFigure(s), path)
}
