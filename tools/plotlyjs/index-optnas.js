'use strict';

// The trace types optnas's dashboard and report draw (optnas/dashboard/plotlyjs.py: TRACES); scatter is in
// plotly.js's core. A figure with another type would draw nothing: tests/dashboard/test_plotlyjs.py checks.
var Plotly = require('./core');

Plotly.register([
    require('./bar'),
    require('./scattergl'),
    require('./parcoords'),
    require('./heatmap'),  // the timeline aggregated by worker and time (10,000+ trials)
    require('./contour'),  // Optuna's contour plot on the analysis page
]);

module.exports = Plotly;
