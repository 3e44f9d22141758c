// ws's tests that inspect ws's private internals, which edgews does not have (and should not
// imitate): excluded from the count, each with its reason. Full mocha titles.
'use strict';

module.exports = [];
