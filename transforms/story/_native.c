/* The story stage's per-article loops in C (optional: kernels.py falls back to their
 * Python twins, `PythonKernels`, when this module is not built).
 *
 * Each function does what its twin does, float for float and in the same order, on the
 * same Python objects (dicts of str -> float, sets of story ids, Story instances), so
 * the index, its durable state and every label are the same whichever ran
 * (tests/test_story_native.py). Sums: `math.fsum` is computed exactly here (the same
 * algorithm; math.fsum itself where a value or a partial is not finite); `sum` of
 * floats is added in order on Python 3.11 and is the builtin itself on 3.12+, which
 * compensates.
 *
 * Why C: the core is sequential (one article after another, in event-time order) and
 * was ~2/3 of the stage's cost in Python; see benchmarks/README.md, "The C kernels".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static PyObject *builtin_sum;   /* builtins.sum */
static PyObject *math_fsum;     /* math.fsum */
static PyObject *str_centroid;  /* "centroid" */
static PyObject *str_norm;      /* "norm" */
static PyObject *str_id;        /* "id" */
static PyObject *str_size;      /* "size" */
static PyObject *one;           /* 1 */

/* A term with its weight and its position (in the article, or in a merged centroid):
 * sorted heaviest first, ties in order of position, which is what Python's stable
 * sorted(..., key=weight, reverse=True) gives. */
typedef struct {
    double weight;
    Py_ssize_t position;
    PyObject *name; /* borrowed */
} Ranked;

static int
heaviest_first(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;
    if (x->weight > y->weight) return -1;
    if (x->weight < y->weight) return 1;
    return (x->position > y->position) - (x->position < y->position);
}

/* `function` (builtins.sum, math.fsum) called on a list of `values[0..n)`, squared when
 * `squared`, as a C double; -1.0 with an exception set on failure. */
static double
call_on_floats(PyObject *function, const double *values, Py_ssize_t n, int squared)
{
    PyObject *list = PyList_New(n);
    if (list == NULL) return -1.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyFloat_FromDouble(squared ? values[i] * values[i] : values[i]);
        if (value == NULL) {
            Py_DECREF(list);
            return -1.0;
        }
        PyList_SET_ITEM(list, i, value);
    }
    PyObject *result = PyObject_CallOneArg(function, list);
    Py_DECREF(list);
    if (result == NULL) return -1.0;
    double total = PyFloat_AsDouble(result);
    Py_DECREF(result);
    return total;
}

/* Python's sum() of the squares of `weights[0..n)`, in that order, as a C double
 * (-1.0 with an exception set on failure: a sum of squares is never negative).
 * Python 3.11 adds floats one after the other, as here; 3.12 compensates the sum
 * (Neumaier), so there the builtin itself is called on the squares. */
static double
sum_of_squares(const double *weights, Py_ssize_t n)
{
#if PY_VERSION_HEX < 0x030C0000
    double total = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) total += weights[i] * weights[i];
    return total;
#else
    return call_on_floats(builtin_sum, weights, n, 1);
#endif
}

/* math.fsum of `values[0..n)`, bit for bit, for finite values whose partial sums stay
 * finite: Shewchuk's exact partials, then one rounding (half-even across partials), as
 * CPython's math.fsum. Returns 0, or -1 when a value or a partial is not finite or there
 * are more partials than room (then the caller asks math.fsum itself). */
#define MAX_PARTIALS 64
static int
exact_sum(const double *values, Py_ssize_t n, double *result)
{
    double partials[MAX_PARTIALS];
    Py_ssize_t count = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        double x = values[k];
        if (!isfinite(x)) return -1;
        Py_ssize_t kept = 0;
        for (Py_ssize_t j = 0; j < count; j++) {
            double y = partials[j];
            if (fabs(x) < fabs(y)) {
                double swap = x;
                x = y;
                y = swap;
            }
            double hi = x + y;
            double lo = y - (hi - x);
            if (lo != 0.0) partials[kept++] = lo;
            x = hi;
        }
        count = kept;
        if (x != 0.0) {
            if (!isfinite(x) || count >= MAX_PARTIALS) return -1;
            partials[count++] = x;
        }
    }
    double hi = 0.0;
    if (count > 0) {
        double lo = 0.0;
        hi = partials[--count];
        while (count > 0) {
            double x = hi, y = partials[--count];
            hi = x + y;
            lo = y - (hi - x);
            if (lo != 0.0) break;
        }
        if (count > 0 && ((lo < 0.0 && partials[count - 1] < 0.0)
                          || (lo > 0.0 && partials[count - 1] > 0.0))) {
            double y = lo * 2.0, x = hi + y;
            if (y == x - hi) hi = x;
        }
    }
    *result = hi;
    return 0;
}

/* math.fsum(values), through exact_sum or (for what it leaves) math.fsum itself;
 * -1.0 with an exception set on failure. */
static double
fsum(const double *values, Py_ssize_t n)
{
    double total;
    if (exact_sum(values, n, &total) == 0) return total;
    return call_on_floats(math_fsum, values, n, 0);
}

/* {terms[i]: weights[i] / norm} with norm the weights' L2 norm (1.0 when zero), as
 * kernels.PythonKernels.unit_vector builds it. `terms` are borrowed. */
static PyObject *
unit_dict(PyObject *const *terms, const double *weights, Py_ssize_t n)
{
    double squares = sum_of_squares(weights, n);
    if (squares < 0.0) return NULL;
    double norm = sqrt(squares);
    if (norm == 0.0) norm = 1.0;
    PyObject *vector = PyDict_New();
    if (vector == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyFloat_FromDouble(weights[i] / norm);
        if (value == NULL || PyDict_SetItem(vector, terms[i], value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(vector);
            return NULL;
        }
        Py_DECREF(value);
    }
    return vector;
}

/* Sorts `ranked[0..n)` heaviest first and builds the unit vector of the first `cap`. */
static PyObject *
capped_unit_vector(Ranked *ranked, Py_ssize_t n, Py_ssize_t cap)
{
    qsort(ranked, (size_t)n, sizeof(Ranked), heaviest_first);
    Py_ssize_t kept = n < cap ? n : cap;
    PyObject **names = PyMem_Malloc((kept ? kept : 1) * sizeof(PyObject *));
    double *values = PyMem_Malloc((kept ? kept : 1) * sizeof(double));
    PyObject *vector = NULL;
    if (names == NULL || values == NULL) {
        PyErr_NoMemory();
    }
    else {
        for (Py_ssize_t i = 0; i < kept; i++) {
            names[i] = ranked[i].name;
            values[i] = ranked[i].weight;
        }
        vector = unit_dict(names, values, kept);
    }
    PyMem_Free(names);
    PyMem_Free(values);
    return vector;
}

PyDoc_STRVAR(weigh_doc,
"weigh(terms, counts, documents, cap) -> dict\n\n"
"StoryIndex._weigh: tf * smoothed idf (counts: document frequencies, documents:\n"
"their number) for every term, heaviest first, capped to `cap`, L2-normalised.\n"
"`terms`: a dict {term: tf} or (list of distinct terms, float64 buffer of their tfs).");

/* An article's terms as weigh and count_and_weigh take them: a dict {term: tf}, or the
 * pair (list of terms, float64 buffer of their tfs) the batch driver loads from a spill
 * file without building the dict (kernels.Terms). */
typedef struct {
    PyObject *dict;  /* borrowed; NULL for a pair */
    PyObject *names; /* borrowed list of a pair */
    Py_buffer tfs;   /* a pair's float64 weights */
    Py_ssize_t n;
} Terms;

static int
terms_open(PyObject *terms, Terms *opened)
{
    opened->dict = NULL;
    opened->names = NULL;
    opened->tfs.obj = NULL;
    if (PyDict_Check(terms)) {
        opened->dict = terms;
        opened->n = PyDict_GET_SIZE(terms);
        return 0;
    }
    if (PyTuple_Check(terms) && PyTuple_GET_SIZE(terms) == 2
        && PyList_Check(PyTuple_GET_ITEM(terms, 0))) {
        opened->names = PyTuple_GET_ITEM(terms, 0);
        opened->n = PyList_GET_SIZE(opened->names);
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(terms, 1), &opened->tfs,
                               PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) == 0) {
            const char *format = opened->tfs.format;
            if (format != NULL && (format[0] == '<' || format[0] == '=' || format[0] == '@'))
                format++;
            if (format != NULL && strcmp(format, "d") == 0
                && opened->tfs.len == opened->n * (Py_ssize_t)sizeof(double))
                return 0;
            PyBuffer_Release(&opened->tfs);
            opened->tfs.obj = NULL;
        }
        PyErr_Clear();
    }
    PyErr_SetString(PyExc_TypeError,
                    "terms are a dict {term: tf} or (list of terms, float64 buffer of as many)");
    return -1;
}

static void
terms_close(Terms *opened)
{
    if (opened->tfs.obj != NULL) PyBuffer_Release(&opened->tfs);
}

/* The next (term, tf) in order; 0 when done, -1 on an error. */
static int
terms_next(Terms *opened, Py_ssize_t *position, PyObject **term, double *tf)
{
    if (opened->dict != NULL) {
        PyObject *value;
        if (!PyDict_Next(opened->dict, position, term, &value)) return 0;
        *tf = PyFloat_AsDouble(value);
        return *tf == -1.0 && PyErr_Occurred() ? -1 : 1;
    }
    if (*position >= opened->n) return 0;
    *term = PyList_GET_ITEM(opened->names, *position);
    *tf = ((const double *)opened->tfs.buf)[*position];
    (*position)++;
    return 1;
}

/* weigh, and count_and_weigh when `counting`: each term's document frequency raised by
 * one first (the article is one more document containing it). */
static PyObject *
weigh_terms(PyObject *terms, PyObject *counts, long long documents, Py_ssize_t cap, int counting)
{
    Terms opened;
    if (terms_open(terms, &opened) < 0) return NULL;
    Py_ssize_t n = opened.n;
    Ranked *ranked = PyMem_Malloc((n ? n : 1) * sizeof(Ranked));
    PyObject *vector = NULL;
    if (ranked == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* As math.log(1 + documents) + 1.0 and math.log(1 + count): log of the double. */
    double base = log((double)(1 + documents)) + 1.0;
    Py_ssize_t position = 0, i = 0;
    PyObject *term;
    double tf;
    int more;
    while ((more = terms_next(&opened, &position, &term, &tf)) > 0) {
        PyObject *count = PyDict_GetItemWithError(counts, term);
        long long frequency = 0;
        if (count != NULL) {
            frequency = PyLong_AsLongLong(count);
            if (frequency == -1 && PyErr_Occurred()) goto done;
        }
        else if (PyErr_Occurred()) {
            goto done;
        }
        if (counting) {
            PyObject *counted = PyLong_FromLongLong(++frequency);
            if (counted == NULL || PyDict_SetItem(counts, term, counted) < 0) {
                Py_XDECREF(counted);
                goto done;
            }
            Py_DECREF(counted);
        }
        ranked[i].weight = tf * (base - log((double)frequency + 1.0));
        ranked[i].position = i;
        ranked[i].name = term;
        i++;
    }
    if (more < 0) goto done;
    vector = capped_unit_vector(ranked, n, cap);
done:
    PyMem_Free(ranked);
    terms_close(&opened);
    return vector;
}

static PyObject *
weigh(PyObject *module, PyObject *args)
{
    PyObject *terms, *counts;
    long long documents;
    Py_ssize_t cap;
    if (!PyArg_ParseTuple(args, "OO!Ln:weigh", &terms, &PyDict_Type, &counts, &documents, &cap))
        return NULL;
    return weigh_terms(terms, counts, documents, cap, 0);
}

PyDoc_STRVAR(count_and_weigh_doc,
"count_and_weigh(terms, counts, documents, cap, max_vocabulary) -> dict or None\n\n"
"count_terms(counts, terms), then weigh(terms, counts, documents, cap), in one pass;\n"
"None (the terms counted) when the vocabulary grew past `max_vocabulary`: the caller\n"
"prunes it and weighs.");

static PyObject *
count_and_weigh(PyObject *module, PyObject *args)
{
    PyObject *terms, *counts;
    long long documents;
    Py_ssize_t cap, max_vocabulary;
    if (!PyArg_ParseTuple(args, "OO!Lnn:count_and_weigh", &terms, &PyDict_Type, &counts,
                          &documents, &cap, &max_vocabulary))
        return NULL;
    PyObject *vector = weigh_terms(terms, counts, documents, cap, 1);
    if (vector != NULL && PyDict_GET_SIZE(counts) > max_vocabulary) {
        Py_DECREF(vector);
        Py_RETURN_NONE;
    }
    return vector;
}

PyDoc_STRVAR(count_terms_doc,
"count_terms(counts, terms) -> None\n\n"
"DocumentFrequencies.add's counting: counts[term] += 1 for each (distinct) term.");

static PyObject *
count_terms(PyObject *module, PyObject *args)
{
    PyObject *counts, *terms;
    if (!PyArg_ParseTuple(args, "O!O:count_terms", &PyDict_Type, &counts, &terms))
        return NULL;
    PyObject *iterator = PyObject_GetIter(terms);
    if (iterator == NULL) return NULL;
    PyObject *term;
    while ((term = PyIter_Next(iterator)) != NULL) {
        PyObject *count = PyDict_GetItemWithError(counts, term);
        PyObject *more = NULL;
        if (count != NULL) {
            int overflow;
            long value = PyLong_AsLongAndOverflow(count, &overflow);
            if (overflow || value == LONG_MAX) {
                /* Past a C long (or at its end, where value + 1 overflows): Python's
                 * exact 1 + count. */
                more = PyNumber_Add(one, count);
            }
            else if (!(value == -1 && PyErr_Occurred())) {
                more = PyLong_FromLong(value + 1);
            }
        }
        else if (!PyErr_Occurred()) {
            more = PyLong_FromLong(1);
        }
        int failed = more == NULL || PyDict_SetItem(counts, term, more) < 0;
        Py_XDECREF(more);
        Py_DECREF(term);
        if (failed) {
            Py_DECREF(iterator);
            return NULL;
        }
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

/* A candidate story and the weight of the article's query terms it shares. */
typedef struct {
    double shared;
    PyObject *id; /* borrowed from the postings */
} Candidate;

/* Most shared weight first, ties by the smaller id (sorted(key=(-sum, id))). Ids are
 * str: PyUnicode_Compare cannot fail on two str. */
static int
most_shared_first(const void *a, const void *b)
{
    const Candidate *x = a, *y = b;
    if (x->shared > y->shared) return -1;
    if (x->shared < y->shared) return 1;
    return PyUnicode_Compare(x->id, y->id);
}

PyDoc_STRVAR(candidates_doc,
"candidates(vector, postings, query_terms, limit) -> set\n\n"
"StoryIndex._candidates: the story ids posted under the vector's first `query_terms`\n"
"terms; when more than `limit`, the `limit` sharing the most of those terms' weight\n"
"(ties by id).");

/* A story found through the postings: open addressing over the ids' (cached) str
 * hashes, as a set finds them (equal ids are one story). */
typedef struct {
    PyObject *id; /* borrowed: its posting holds it for the call */
    Py_hash_t hash;
    double shared;
} Found;

static PyObject *
candidates(PyObject *module, PyObject *args)
{
    PyObject *vector, *postings;
    Py_ssize_t query_terms, limit;
    if (!PyArg_ParseTuple(args, "O!O!nn:candidates", &PyDict_Type, &vector, &PyDict_Type,
                          &postings, &query_terms, &limit))
        return NULL;
    /* No more than the vector's terms (islice takes any count up to sys.maxsize). */
    Py_ssize_t most = query_terms > 0 ? query_terms : 0;
    if (most > PyDict_GET_SIZE(vector)) most = PyDict_GET_SIZE(vector);
    PyObject **hits = PyMem_Malloc((most ? most : 1) * sizeof(PyObject *));
    double *hit_weights = PyMem_Malloc((most ? most : 1) * sizeof(double));
    Found *table = NULL;
    Py_ssize_t *order = NULL; /* the table's used slots, in order of first sight */
    Candidate *ranked = NULL;
    PyObject *chosen = NULL;
    if (hits == NULL || hit_weights == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t nhits = 0, seen = 0, position = 0, listed = 0;
    PyObject *term, *weight;
    /* The vector's first `query_terms` items (islice), hit or not. */
    while (seen < most && PyDict_Next(vector, &position, &term, &weight)) {
        seen++;
        PyObject *posting = PyDict_GetItemWithError(postings, term);
        if (posting == NULL) {
            if (PyErr_Occurred()) goto done;
            continue;
        }
        Py_ssize_t size = PySet_Size(posting);
        if (size <= 0) {
            if (PyErr_Occurred()) goto done;
            continue;
        }
        hits[nhits] = posting;
        hit_weights[nhits] = PyFloat_AsDouble(weight);
        if (hit_weights[nhits] == -1.0 && PyErr_Occurred()) goto done;
        nhits++;
        listed += size;
    }
    size_t capacity = 8;
    while (capacity < (size_t)(2 * listed)) capacity <<= 1;
    table = PyMem_Calloc(capacity, sizeof(Found));
    order = PyMem_Malloc((listed ? listed : 1) * sizeof(Py_ssize_t));
    if (table == NULL || order == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t distinct = 0;
    /* Each story's share summed in the vector's order, as the Python loop adds. */
    for (Py_ssize_t h = 0; h < nhits; h++) {
        PyObject *iterator = PyObject_GetIter(hits[h]);
        if (iterator == NULL) goto done;
        PyObject *story_id;
        while ((story_id = PyIter_Next(iterator)) != NULL) {
            Py_hash_t hash = PyObject_Hash(story_id);
            size_t at = (size_t)hash & (capacity - 1);
            int failed = hash == -1;
            while (!failed && table[at].id != NULL) {
                if (table[at].id == story_id) break;
                if (table[at].hash == hash) {
                    int equal = PyObject_RichCompareBool(table[at].id, story_id, Py_EQ);
                    if (equal < 0) failed = 1;
                    if (equal) break;
                }
                at = (at + 1) & (capacity - 1);
            }
            if (!failed && table[at].id == NULL) {
                if (distinct >= listed) {
                    PyErr_SetString(PyExc_RuntimeError, "a posting changed during the lookup");
                    failed = 1;
                }
                else {
                    table[at].id = story_id;
                    table[at].hash = hash;
                    table[at].shared = 0.0;
                    order[distinct++] = (Py_ssize_t)at;
                }
            }
            if (!failed) table[at].shared += hit_weights[h];
            Py_DECREF(story_id);
            if (failed) {
                Py_DECREF(iterator);
                goto done;
            }
        }
        Py_DECREF(iterator);
        if (PyErr_Occurred()) goto done;
    }
    chosen = PySet_New(NULL);
    if (chosen == NULL) goto done;
    Py_ssize_t keep = distinct;
    if (distinct > limit) {
        /* The `limit` sharing the most weight, ties by the smaller id. */
        ranked = PyMem_Malloc(distinct * sizeof(Candidate));
        if (ranked == NULL) {
            PyErr_NoMemory();
            Py_CLEAR(chosen);
            goto done;
        }
        for (Py_ssize_t i = 0; i < distinct; i++) {
            ranked[i].shared = table[order[i]].shared;
            ranked[i].id = table[order[i]].id;
        }
        qsort(ranked, (size_t)distinct, sizeof(Candidate), most_shared_first);
        keep = limit > 0 ? limit : 0;
    }
    for (Py_ssize_t i = 0; i < keep; i++) {
        PyObject *id = ranked != NULL ? ranked[i].id : table[order[i]].id;
        if (PySet_Add(chosen, id) < 0) {
            Py_CLEAR(chosen);
            goto done;
        }
    }
done:
    PyMem_Free(hits);
    PyMem_Free(hit_weights);
    PyMem_Free(table);
    PyMem_Free(order);
    PyMem_Free(ranked);
    return chosen;
}

/* clusterer._cosine: the article's vector against a story (its centroid and norm),
 * over their shared terms, the products summed by math.fsum (exact, so their order
 * does not matter). Returns -1.0 with an exception set on failure. */
static double
cosine(PyObject *vector, PyObject *story)
{
    PyObject *norm_object = PyObject_GetAttr(story, str_norm);
    if (norm_object == NULL) return -1.0;
    double norm = PyFloat_AsDouble(norm_object);
    Py_DECREF(norm_object);
    if (norm == -1.0 && PyErr_Occurred()) return -1.0;
    if (norm == 0.0) return 0.0;
    PyObject *centroid = PyObject_GetAttr(story, str_centroid);
    if (centroid == NULL) return -1.0;
    if (!PyDict_Check(centroid)) {
        Py_DECREF(centroid);
        PyErr_SetString(PyExc_TypeError, "a story's centroid must be a dict");
        return -1.0;
    }
    /* Walk the smaller dict, look up in the other. */
    PyObject *walked = centroid, *other = vector;
    if (PyDict_GET_SIZE(vector) < PyDict_GET_SIZE(centroid)) {
        walked = vector;
        other = centroid;
    }
    Py_ssize_t most = PyDict_GET_SIZE(walked);
    double *products = PyMem_Malloc((most ? most : 1) * sizeof(double));
    if (products == NULL) {
        Py_DECREF(centroid);
        PyErr_NoMemory();
        return -1.0;
    }
    Py_ssize_t shared = 0, position = 0;
    PyObject *term, *weight;
    double result = -1.0;
    while (PyDict_Next(walked, &position, &term, &weight)) {
        PyObject *match = PyDict_GetItemWithError(other, term);
        if (match == NULL) {
            if (PyErr_Occurred()) goto done;
            continue;
        }
        double a = PyFloat_AsDouble(weight), b = PyFloat_AsDouble(match);
        if (PyErr_Occurred()) goto done;
        products[shared++] = a * b;
    }
    double dot = fsum(products, shared);
    if (dot == -1.0 && PyErr_Occurred()) goto done;
    result = dot / norm;
done:
    PyMem_Free(products);
    Py_DECREF(centroid);
    return result;
}

PyDoc_STRVAR(most_similar_doc,
"most_similar(vector, story_ids, stories) -> (story or None, similarity)\n\n"
"StoryIndex._place's choice: the story (of `stories`, by the ids) most similar to the\n"
"vector, ties to the smaller id; None and 0.0 when none is above 0.");

static PyObject *
most_similar(PyObject *module, PyObject *args)
{
    PyObject *vector, *story_ids, *stories;
    if (!PyArg_ParseTuple(args, "O!OO!:most_similar", &PyDict_Type, &vector, &story_ids,
                          &PyDict_Type, &stories))
        return NULL;
    PyObject *iterator = PyObject_GetIter(story_ids);
    if (iterator == NULL) return NULL;
    PyObject *best = NULL, *best_id = NULL; /* owned */
    double best_similarity = 0.0;
    PyObject *story_id;
    while ((story_id = PyIter_Next(iterator)) != NULL) {
        PyObject *story = PyDict_GetItemWithError(stories, story_id);
        Py_DECREF(story_id);
        if (story == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "candidate story not found");
            goto fail;
        }
        double similarity = cosine(vector, story);
        if (similarity == -1.0 && PyErr_Occurred()) goto fail;
        int better = similarity > best_similarity;
        PyObject *id = NULL;
        if (!better && similarity == best_similarity && best != NULL) {
            id = PyObject_GetAttr(story, str_id);
            if (id == NULL) goto fail;
            better = PyObject_RichCompareBool(id, best_id, Py_LT);
            if (better < 0) {
                Py_DECREF(id);
                goto fail;
            }
        }
        if (better) {
            if (id == NULL && (id = PyObject_GetAttr(story, str_id)) == NULL) goto fail;
            Py_XDECREF(best_id);
            Py_XDECREF(best);
            Py_INCREF(story);
            best = story;
            best_id = id;
            best_similarity = similarity;
        }
        else {
            Py_XDECREF(id);
        }
    }
    Py_DECREF(iterator);
    Py_XDECREF(best_id);
    if (PyErr_Occurred()) {
        Py_XDECREF(best);
        return NULL;
    }
    if (best == NULL) return Py_BuildValue("(Od)", Py_None, best_similarity);
    return Py_BuildValue("(Nd)", best, best_similarity);
fail:
    Py_DECREF(iterator);
    Py_XDECREF(best);
    Py_XDECREF(best_id);
    return NULL;
}

PyDoc_STRVAR(merged_centroid_doc,
"merged_centroid(centroid, vector, limit) -> dict\n\n"
"StoryIndex._join's new centroid: the centroid plus the vector, term by term (new\n"
"terms after the old, in the vector's order), then its `limit` heaviest terms\n"
"(heaviest first, ties in that order) when it has more.");

static PyObject *
merged_centroid_of(PyObject *centroid, PyObject *vector, Py_ssize_t limit)
{
    Py_ssize_t old = PyDict_GET_SIZE(centroid), most = old + PyDict_GET_SIZE(vector);
    /* The old terms first, in order, then the new ones in the vector's order: their
     * places in the merged dict. */
    Ranked *entries = PyMem_Malloc((most ? most : 1) * sizeof(Ranked));
    PyObject *kept = NULL;
    if (entries == NULL) return PyErr_NoMemory();
    Py_ssize_t position = 0, listed = 0;
    PyObject *term, *weight;
    while (PyDict_Next(centroid, &position, &term, &weight)) {
        PyObject *added = PyDict_GetItemWithError(vector, term);
        if (added == NULL && PyErr_Occurred()) goto done;
        double value = PyFloat_AsDouble(weight);
        if (added != NULL) value += PyFloat_AsDouble(added);
        if (PyErr_Occurred()) goto done;
        entries[listed].weight = value;
        entries[listed].position = listed;
        entries[listed].name = term;
        listed++;
    }
    /* With `limit` old terms or more, a new term can be kept only if heavier than the
     * limit-th heaviest old one (on a tie the old term comes first): the others are
     * not listed. */
    int cut = old >= limit && limit > 0;
    double floor = 0.0;
    if (cut) {
        Ranked *sorted = PyMem_Malloc(old * sizeof(Ranked));
        if (sorted == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(sorted, entries, old * sizeof(Ranked));
        qsort(sorted, (size_t)old, sizeof(Ranked), heaviest_first);
        floor = sorted[limit - 1].weight;
        PyMem_Free(sorted);
    }
    Py_ssize_t merged = old;
    position = 0;
    while (PyDict_Next(vector, &position, &term, &weight)) {
        int known = PyDict_Contains(centroid, term);
        if (known < 0) goto done;
        if (known) continue;
        double value = 0.0 + PyFloat_AsDouble(weight);
        if (value == -1.0 && PyErr_Occurred()) goto done;
        merged++;
        if (cut && !(value > floor)) continue;
        entries[listed].weight = value;
        entries[listed].position = merged - 1;
        entries[listed].name = term;
        listed++;
    }
    if (merged > limit) {
        /* The `limit` heaviest, ties in the merged order (sorted(..., reverse=True)). */
        qsort(entries, (size_t)listed, sizeof(Ranked), heaviest_first);
        if (listed > limit) listed = limit;
    }
    kept = PyDict_New();
    if (kept == NULL) goto done;
    for (Py_ssize_t i = 0; i < listed; i++) {
        PyObject *value = PyFloat_FromDouble(entries[i].weight);
        if (value == NULL || PyDict_SetItem(kept, entries[i].name, value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(kept);
            goto done;
        }
        Py_DECREF(value);
    }
done:
    PyMem_Free(entries);
    return kept;
}

static PyObject *
merged_centroid(PyObject *module, PyObject *args)
{
    PyObject *centroid, *vector;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "O!O!n:merged_centroid", &PyDict_Type, &centroid, &PyDict_Type,
                          &vector, &limit))
        return NULL;
    return merged_centroid_of(centroid, vector, limit);
}

PyDoc_STRVAR(vector_norm_doc,
"vector_norm(vector) -> float\n\n"
"Story.refresh_norm: the L2 norm of a dict's values, summed in order by sum().");

/* The L2 norm of a dict's values (-1.0 with an exception set on failure). */
static double
norm_of(PyObject *vector)
{
    Py_ssize_t n = PyDict_GET_SIZE(vector);
    double *values = PyMem_Malloc((n ? n : 1) * sizeof(double));
    if (values == NULL) {
        PyErr_NoMemory();
        return -1.0;
    }
    Py_ssize_t position = 0, i = 0;
    PyObject *term, *weight;
    while (PyDict_Next(vector, &position, &term, &weight)) {
        values[i] = PyFloat_AsDouble(weight);
        if (values[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(values);
            return -1.0;
        }
        i++;
    }
    double squares = sum_of_squares(values, n);
    PyMem_Free(values);
    return squares < 0.0 ? -1.0 : sqrt(squares);
}

static PyObject *
vector_norm(PyObject *module, PyObject *vector)
{
    if (!PyDict_Check(vector)) {
        PyErr_SetString(PyExc_TypeError, "vector_norm: a dict is needed");
        return NULL;
    }
    double norm = norm_of(vector);
    if (norm == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(norm);
}

PyDoc_STRVAR(join_story_doc,
"join_story(story, vector, limit, postings) -> None\n\n"
"StoryIndex._join's merge: the story's centroid becomes merged_centroid(centroid,\n"
"vector, limit), the postings follow (its id off the terms it lost, onto those it\n"
"gained; a posting left empty is deleted), its size grows by one and its norm is\n"
"refreshed.");

static PyObject *
join_story(PyObject *module, PyObject *args)
{
    PyObject *story, *vector, *postings;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "OO!nO!:join_story", &story, &PyDict_Type, &vector, &limit,
                          &PyDict_Type, &postings))
        return NULL;
    PyObject *old = PyObject_GetAttr(story, str_centroid);
    PyObject *story_id = PyObject_GetAttr(story, str_id);
    PyObject *kept = NULL, *size = NULL, *grown = NULL, *norm = NULL, *result = NULL;
    if (old == NULL || story_id == NULL) goto done;
    if (!PyDict_Check(old)) {
        PyErr_SetString(PyExc_TypeError, "a story's centroid must be a dict");
        goto done;
    }
    kept = merged_centroid_of(old, vector, limit);
    if (kept == NULL) goto done;
    Py_ssize_t position = 0;
    PyObject *term, *weight;
    while (PyDict_Next(old, &position, &term, &weight)) {
        int still = PyDict_Contains(kept, term);
        if (still < 0) goto done;
        if (still) continue;
        PyObject *posting = PyDict_GetItemWithError(postings, term);
        if (posting == NULL) {
            if (PyErr_Occurred()) goto done;
            continue;
        }
        if (PySet_Discard(posting, story_id) < 0) goto done;
        if (PySet_GET_SIZE(posting) == 0 && PyDict_DelItem(postings, term) < 0) goto done;
    }
    position = 0;
    while (PyDict_Next(kept, &position, &term, &weight)) {
        int had = PyDict_Contains(old, term);
        if (had < 0) goto done;
        if (had) continue;
        PyObject *posting = PyDict_GetItemWithError(postings, term);
        if (posting == NULL) {
            if (PyErr_Occurred()) goto done;
            PyObject *fresh = PySet_New(NULL);
            if (fresh == NULL) goto done;
            int failed = PyDict_SetItem(postings, term, fresh) < 0;
            posting = fresh;
            Py_DECREF(fresh); /* the postings hold it */
            if (failed) goto done;
        }
        if (PySet_Add(posting, story_id) < 0) goto done;
    }
    if (PyObject_SetAttr(story, str_centroid, kept) < 0) goto done;
    size = PyObject_GetAttr(story, str_size);
    if (size == NULL) goto done;
    grown = PyNumber_Add(size, one);
    if (grown == NULL || PyObject_SetAttr(story, str_size, grown) < 0) goto done;
    double value = norm_of(kept);
    if (value == -1.0 && PyErr_Occurred()) goto done;
    norm = PyFloat_FromDouble(value);
    if (norm == NULL || PyObject_SetAttr(story, str_norm, norm) < 0) goto done;
    result = Py_None;
    Py_INCREF(result);
done:
    Py_XDECREF(old);
    Py_XDECREF(story_id);
    Py_XDECREF(kept);
    Py_XDECREF(size);
    Py_XDECREF(grown);
    Py_XDECREF(norm);
    return result;
}

PyDoc_STRVAR(long_words_doc,
"long_words(text, shortest) -> list\n\n"
"features._words' filter: the whitespace-separated words of at least `shortest`\n"
"characters, in order.");

static PyObject *
long_words(PyObject *module, PyObject *args)
{
    PyObject *text;
    Py_ssize_t shortest;
    if (!PyArg_ParseTuple(args, "Un:long_words", &text, &shortest)) return NULL;
    PyObject *words = PyUnicode_Split(text, NULL, -1);
    if (words == NULL) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(words), kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        if (PyUnicode_GET_LENGTH(word) >= shortest) {
            /* Moved down in place: the list owns each word once either way. */
            if (kept != i) {
                PyObject *dropped = PyList_GET_ITEM(words, kept);
                PyList_SET_ITEM(words, kept, word);
                PyList_SET_ITEM(words, i, dropped);
            }
            kept++;
        }
    }
    if (PyList_SetSlice(words, kept, n, NULL) < 0) {
        Py_DECREF(words);
        return NULL;
    }
    return words;
}

/* Character classes of scan_part, one byte per code point below the table's length
 * (features._CHARACTER_CLASSES, built from the same regex properties as its patterns). */
#define LETTER_OR_MARK 1 /* \p{L} or \p{M} */
#define UPPERCASE 2      /* \p{Lu} */
#define DIGIT 4          /* \p{Nd} */
#define SENTENCE_BREAK 8 /* what ends a name's context: . ! ? : ; quotes, dashes, ... */

PyDoc_STRVAR(scan_part_doc,
"scan_part(text, classes) -> (words, numbers, names) or None\n\n"
"features.term_weights' three patterns in one pass: the runs of 3+ letters and marks\n"
"(`_words` of text without Chinese or Japanese), the runs of 2+ digits (`_NUMBER`),\n"
"and the runs among the words that start with a capital and follow a letter, mark or\n"
"digit of the same sentence (`_NAME`), each in order. `classes` gives each code point's\n"
"class; None when a character is past it (Chinese, Japanese, emoji: the patterns run).");

/* The class of text[i], or -1 past the table (the patterns take that text). */
static inline int
class_at(int kind, const void *data, Py_ssize_t i, const unsigned char *classes, Py_ssize_t known)
{
    Py_UCS4 character = PyUnicode_READ(kind, data, i);
    return (Py_ssize_t)character < known ? classes[character] : -1;
}

static PyObject *
scan_part(PyObject *module, PyObject *args)
{
    PyObject *text;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "Uy*:scan_part", &text, &table)) return NULL;
    const unsigned char *classes = table.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), known = table.len;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *words = PyList_New(0), *numbers = PyList_New(0), *names = PyList_New(0);
    PyObject *result = NULL;
    if (words == NULL || numbers == NULL || names == NULL) goto done;
    /* Whether a letter, mark or digit came before with no sentence break since: a
     * capitalised word there is a name (the lookbehind of `_NAME`). */
    int in_sentence = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        int class = class_at(kind, data, i, classes, known);
        if (class < 0) goto past;
        if (!(class & (LETTER_OR_MARK | DIGIT))) {
            if (class & SENTENCE_BREAK) in_sentence = 0;
            i++;
            continue;
        }
        Py_ssize_t start = i;
        int run = class & (LETTER_OR_MARK | DIGIT);
        while (++i < n) {
            int next = class_at(kind, data, i, classes, known);
            if (next < 0) goto past;
            if ((next & (LETTER_OR_MARK | DIGIT)) != run) break;
        }
        if (i - start >= (run == DIGIT ? 2 : 3)) {
            PyObject *found = PyUnicode_Substring(text, start, i);
            if (found == NULL) goto done;
            int failed = PyList_Append(run == DIGIT ? numbers : words, found) < 0
                         || (run != DIGIT && in_sentence && (class & UPPERCASE)
                             && PyList_Append(names, found) < 0);
            Py_DECREF(found);
            if (failed) goto done;
        }
        in_sentence = 1;
    }
    result = PyTuple_Pack(3, words, numbers, names);
    goto done;
past:
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&table);
    Py_XDECREF(words);
    Py_XDECREF(numbers);
    Py_XDECREF(names);
    return result;
}

PyDoc_STRVAR(boosted_counts_doc,
"boosted_counts(parts, name_weight, number_weight) -> dict\n\n"
"features.term_weights' weighing: `parts` is a list of (words, numbers, names,\n"
"field_boost), the title's then the body's; each term (1 + log n) times the strongest\n"
"boost it received (field_boost, times name_weight for a word among the names,\n"
"times number_weight for a number), in order of first occurrence.");

static PyObject *
boosted_counts(PyObject *module, PyObject *args)
{
    PyObject *parts;
    double name_weight, number_weight;
    if (!PyArg_ParseTuple(args, "O!dd:boosted_counts", &PyList_Type, &parts, &name_weight,
                          &number_weight))
        return NULL;
    Py_ssize_t total = 0, nparts = PyList_GET_SIZE(parts);
    for (Py_ssize_t p = 0; p < nparts; p++) {
        PyObject *part = PyList_GET_ITEM(parts, p);
        if (!PyTuple_Check(part) || PyTuple_GET_SIZE(part) != 4
            || !PyList_Check(PyTuple_GET_ITEM(part, 0))
            || !PyList_Check(PyTuple_GET_ITEM(part, 1))) {
            PyErr_SetString(PyExc_TypeError,
                            "boosted_counts: parts are (words list, numbers list, names, boost)");
            return NULL;
        }
        total += PyList_GET_SIZE(PyTuple_GET_ITEM(part, 0));
        total += PyList_GET_SIZE(PyTuple_GET_ITEM(part, 1));
    }
    PyObject **terms = PyMem_Malloc((total ? total : 1) * sizeof(PyObject *));
    double *boosts = PyMem_Malloc((total ? total : 1) * sizeof(double));
    Py_ssize_t *counts = PyMem_Malloc((total ? total : 1) * sizeof(Py_ssize_t));
    PyObject *slots = PyDict_New(); /* term -> its index in the arrays */
    PyObject *result = NULL;
    if (terms == NULL || boosts == NULL || counts == NULL || slots == NULL) {
        if (slots != NULL) PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t distinct = 0;
    for (Py_ssize_t p = 0; p < nparts; p++) {
        PyObject *part = PyList_GET_ITEM(parts, p);
        PyObject *names = PyTuple_GET_ITEM(part, 2);
        double field_boost = PyFloat_AsDouble(PyTuple_GET_ITEM(part, 3));
        if (field_boost == -1.0 && PyErr_Occurred()) goto done;
        /* Words, then numbers: the order the Python code lists the occurrences in. */
        for (int kind = 0; kind < 2; kind++) {
            PyObject *list = PyTuple_GET_ITEM(part, kind);
            double boost = kind ? number_weight * field_boost : field_boost;
            double name_boost = name_weight * field_boost;
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
                PyObject *term = PyList_GET_ITEM(list, i);
                PyObject *slot = PyDict_GetItemWithError(slots, term);
                Py_ssize_t at;
                if (slot != NULL) {
                    at = PyLong_AsSsize_t(slot);
                }
                else {
                    if (PyErr_Occurred()) goto done;
                    at = distinct++;
                    PyObject *number = PyLong_FromSsize_t(at);
                    if (number == NULL || PyDict_SetItem(slots, term, number) < 0) {
                        Py_XDECREF(number);
                        goto done;
                    }
                    Py_DECREF(number);
                    terms[at] = term;
                    counts[at] = 0;
                    boosts[at] = -INFINITY; /* below any boost: the first one is taken */
                }
                counts[at]++;
                double here = boost;
                if (!kind) {
                    int named = PySet_Contains(names, term);
                    if (named < 0) goto done;
                    if (named) here = name_boost;
                }
                /* A term of both the title and the body keeps the stronger boost. */
                if (!(boosts[at] > here)) boosts[at] = here;
            }
        }
    }
    result = PyDict_New();
    if (result == NULL) goto done;
    for (Py_ssize_t at = 0; at < distinct; at++) {
        /* (1 + log n) * boost, as features._SUBLINEAR and the product there. */
        PyObject *value = PyFloat_FromDouble((1.0 + log((double)counts[at])) * boosts[at]);
        if (value == NULL || PyDict_SetItem(result, terms[at], value) < 0) {
            Py_XDECREF(value);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(value);
    }
done:
    PyMem_Free(terms);
    PyMem_Free(boosts);
    PyMem_Free(counts);
    Py_XDECREF(slots);
    return result;
}

static PyMethodDef native_methods[] = {
    {"weigh", weigh, METH_VARARGS, weigh_doc},
    {"count_and_weigh", count_and_weigh, METH_VARARGS, count_and_weigh_doc},
    {"count_terms", count_terms, METH_VARARGS, count_terms_doc},
    {"candidates", candidates, METH_VARARGS, candidates_doc},
    {"most_similar", most_similar, METH_VARARGS, most_similar_doc},
    {"merged_centroid", merged_centroid, METH_VARARGS, merged_centroid_doc},
    {"vector_norm", vector_norm, METH_O, vector_norm_doc},
    {"join_story", join_story, METH_VARARGS, join_story_doc},
    {"long_words", long_words, METH_VARARGS, long_words_doc},
    {"scan_part", scan_part, METH_VARARGS, scan_part_doc},
    {"boosted_counts", boosted_counts, METH_VARARGS, boosted_counts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    "newsbeam.transforms.story._native",
    "The story core's per-article loops in C (see clusterer.py).",
    -1,
    native_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    PyObject *builtins = PyImport_ImportModule("builtins");
    if (builtins == NULL) return NULL;
    builtin_sum = PyObject_GetAttrString(builtins, "sum");
    Py_DECREF(builtins);
    PyObject *math = PyImport_ImportModule("math");
    if (math == NULL) return NULL;
    math_fsum = PyObject_GetAttrString(math, "fsum");
    Py_DECREF(math);
    str_centroid = PyUnicode_InternFromString("centroid");
    str_norm = PyUnicode_InternFromString("norm");
    str_id = PyUnicode_InternFromString("id");
    str_size = PyUnicode_InternFromString("size");
    one = PyLong_FromLong(1);
    if (builtin_sum == NULL || math_fsum == NULL || str_centroid == NULL || str_norm == NULL
        || str_id == NULL || str_size == NULL || one == NULL)
        return NULL;
    return PyModule_Create(&native_module);
}
