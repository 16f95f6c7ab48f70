'use strict';

// The trace types optnas's dashboard and report draw (optnas/dashboard/plotlyjs.py: TRACES); scatter is in
// plotly.js's core. A figure with another type would draw nothing: tests/dashboard/test_plotlyjs.py checks.
var Plotly = require('./core');

Plotly.register([
    require('./bar'),
    require('./scattergl'),
    require('./parcoords'),
]);

module.exports = Plotly;
