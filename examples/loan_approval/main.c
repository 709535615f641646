/* Score two applicants with the generated C code: no Python, no sklearn, no heap. */
#include <math.h>
#include <stdio.h>

#include "loan.h"

int main(void) {
    loan_input rows[2] = {
        {35.0, 72000.0, 710.0, 15000.0, 6.5, "CA", "car"},
        {52.0, NAN, 590.0, 42000.0, 1.0, NULL, "business"}, /* missing income and state */
    };
    double proba[2 * loan_N_CLASSES];
    int label[2];
    int status = loan_predict_proba_batch(rows, 2, proba);
    status |= loan_predict_batch(rows, 2, label);
    if (status != 0) {
        fprintf(stderr, "scoring refused a row: status %d\n", status);
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        /* classes are in manifest order: approve, decline */
        printf("c: row %d class index %d P(approve)=%.4f\n", i, label[i],
               proba[i * loan_N_CLASSES]);
    }
    return 0;
}
