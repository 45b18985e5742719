// The dashboard's charts: one ECharts instance per figure, its option built from the rows the
// page embeds (the same rows as the table under the chart).
(function () {
  "use strict";
  var blob = document.getElementById("dashboard-data");
  if (!blob || !window.echarts) return;
  var specs = JSON.parse(blob.textContent);
  var charts = [];

  function shorten(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function option(spec, narrow) {
    var labels = spec.rows.map(function (r) { return r[0]; });
    var horizontal = spec.chart === "hbar";
    var series = spec.plotted.map(function (i) {
      return {
        name: spec.series[i],
        type: spec.chart === "line" ? "line" : "bar",
        stack: spec.chart === "stack" ? "total" : undefined,
        data: spec.rows.map(function (r) { return r[i + 1]; }),
        emphasis: { focus: "series" },
      };
    });
    var category = {
      type: "category",
      data: horizontal ? labels.slice().reverse() : labels,
      axisLabel: {
        fontSize: 11,
        hideOverlap: true,
        formatter: function (v) { return shorten(v, horizontal ? (narrow ? 8 : 18) : 10); },
      },
    };
    if (horizontal) {
      series.forEach(function (s) { s.data = s.data.slice().reverse(); });
    }
    var value = { type: "value", name: spec.y_name, nameTextStyle: { fontSize: 11 }, axisLabel: { fontSize: 11 } };
    return {
      tooltip: { trigger: "axis", confine: true },
      legend: { type: "scroll", top: 0, textStyle: { fontSize: 11 } },
      grid: { left: 8, right: 16, top: 52, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: series,
      animation: false,
    };
  }

  specs.forEach(function (spec) {
    var el = document.getElementById("chart-" + spec.key);
    if (!el || !spec.rows.length) return;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(spec, el.clientWidth < 480));
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  window.dashboardCharts = charts;
})();
