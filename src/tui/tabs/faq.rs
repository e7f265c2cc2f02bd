//! The FAQ on the Help tab, in the languages the risk reasons have (`--lang`): what an analyst
//! asks before trusting the list.

/// (question, answer) pairs in English.
pub const EN: &[(&str, &str)] = &[
    (
        "What does dormant (m2) mean, and why does it stand for churn?",
        "A user is dormant at an anchor when they make no visit, cart or purchase in the next 30 days. In a shop without contracts nobody cancels: churn shows as silence, and 30 silent days is the silence a coupon can still break.",
    ),
    (
        "Why Lift@K and not accuracy?",
        "You can send only K% of users a coupon. Lift@K says how many times more dormant users that K% holds than a random K% would. Most users go dormant anyway, so a model that says 'everyone' is accurate and useless.",
    ),
    (
        "What is the lift ceiling?",
        "The best lift possible at K: min(N/P, N/k). When 80% of users go dormant, even a perfect list lifts at most 1.25: judge a model against its ceiling, not against 2 or 3.",
    ),
    (
        "Why is the test anchor scored only once?",
        "Models are fit on train anchors and chosen on val. Test is scored after the choice, once, so its figures are what the next month in production will look like, not the best of many tries.",
    ),
    (
        "What are a tier and an offer?",
        "Tiers cut the ranked list by depth (by default Emergency: the top 5%, 30% coupon; Warning: to 15%; Potential: to 30%); each tier has the offer marketing sends it. Change them with --config FILE ([[tiers]] name, top_pct, offer).",
    ),
    (
        "How is a risk reason made, and what does its percentage mean?",
        "From the model's own attribution (logreg: coefficient x value; gbdt: TreeSHAP; others: the score with that feature set to the median), only features that push toward dormancy and lie on dormant users' side. 'lower than 31% of users': 31% of the users scored have a higher value.",
    ),
    (
        "What does VIF say, and how can two features be the same information?",
        "VIF is how much of a feature the others explain; above 5 it mostly repeats them. activity_trend is 2 x activity_ratio_15d - 1 exactly: r = 1.00, and a model gains nothing from both.",
    ),
    (
        "Why can the rule win, and what then?",
        "'Not seen for n days' is a strong baseline. When it wins or is tied, the models' gain is within the noise of one val anchor: target by recency for now, and retrain with more history (more anchors) before trusting a model.",
    ),
    (
        "How do I change K, the tiers and the offers?",
        "On Targets: + and - move K to the next whole %, ] and [ to the next multiple of 5%, K types it. Tiers and offers come from --config FILE; --k sets the K values the leaderboard reports.",
    ),
    (
        "Why hold out a control group, and how do I read an uplift?",
        "A high risk score says who will leave, not whom a coupon keeps: some come back anyway. A campaign (c on Targets, or churn-tui campaign create) gives no offer to a random share of each tier; after the horizon, uplift = control's dormant rate - treatment's, with a 90% interval. An interval that straddles zero cannot tell the offer from chance (too few users, or too weak an effect): not proof that it did nothing.",
    ),
    (
        "How do I pick K from a budget, and what does a list return?",
        "Give each tier's offer a cost in the --config file (cost = 3000, or discount and redeem_rate) and a currency. On Targets, b types a budget: K becomes the longest head of the list whose offers it pays (an excluded user frees budget, an added one spends it), and the header says spent and left. p opens the plan: cost, expected return and net by K. The return needs a campaign's read-out (its uplift per tier); without one the plan shows the cost only.",
    ),
    (
        "Where do the files go?",
        "Runs go to artifacts/<run-id>/ (or --out): manifest, models, eval.json, scores, curves, your hand edits (edits.json). Exports and reports default to the run's directory; campaigns go to artifacts/campaigns.db (or --db); the log is artifacts/churn-tui.log.",
    ),
];

/// (question, answer) pairs in Korean.
pub const KO: &[(&str, &str)] = &[
    (
        "휴면(m2)은 무엇이며 왜 이탈을 뜻하나요?",
        "앵커 이후 30일 동안 방문, 장바구니, 구매가 하나도 없는 사용자입니다. 계약이 없는 쇼핑몰에서는 아무도 해지하지 않으므로 이탈은 침묵으로 나타나고, 30일의 침묵은 쿠폰으로 아직 되돌릴 수 있는 침묵입니다.",
    ),
    (
        "왜 정확도가 아니라 Lift@K인가요?",
        "쿠폰은 상위 K%에게만 보낼 수 있습니다. Lift@K는 그 K%에 무작위 K%보다 휴면 사용자가 몇 배 많은지를 말합니다. 대부분이 휴면이 되므로 '모두'라고 답하는 모델은 정확하지만 쓸모가 없습니다.",
    ),
    (
        "Lift 상한(ceiling)은 무엇인가요?",
        "K에서 가능한 최고 lift, min(N/P, N/k)입니다. 사용자의 80%가 휴면이면 완벽한 목록도 최대 1.25입니다. 모델은 2나 3이 아니라 이 상한과 비교해 판단하세요.",
    ),
    (
        "테스트 앵커는 왜 한 번만 평가하나요?",
        "모델은 train 앵커로 학습하고 val로 선택합니다. 선택이 끝난 뒤 test를 한 번만 평가하므로, 그 수치는 여러 번 시도한 최고값이 아니라 다음 달 실제 운영에서 볼 모습입니다.",
    ),
    (
        "등급(tier)과 혜택(offer)은 무엇인가요?",
        "등급은 순위 목록을 깊이로 나눕니다(기본: 긴급 상위 5% 30% 쿠폰, 경고 15%까지, 잠재 30%까지). 등급마다 마케팅이 보낼 혜택이 있습니다. --config FILE([[tiers]] name, top_pct, offer)로 바꿉니다.",
    ),
    (
        "위험 사유는 어떻게 만들고, 백분율은 무엇을 뜻하나요?",
        "모델 자체의 기여도(logreg: 계수 x 값, gbdt: TreeSHAP, 그 외: 그 특성을 중앙값으로 바꾼 점수 차이)에서, 휴면 쪽으로 밀고 휴면 사용자 쪽에 있는 특성만 씁니다. '사용자의 31%보다 낮음'은 평가된 사용자의 31%가 더 높은 값을 가진다는 뜻입니다.",
    ),
    (
        "VIF는 무엇을 말하며, 두 특성이 어떻게 같은 정보일 수 있나요?",
        "VIF는 한 특성이 다른 특성들로 얼마나 설명되는지입니다. 5를 넘으면 대부분 중복입니다. activity_trend는 정확히 2 x activity_ratio_15d - 1이라 r = 1.00이고, 둘 다 있어도 모델이 얻는 것은 없습니다.",
    ),
    (
        "규칙(rule)이 이길 수 있는 이유와 그때 할 일은?",
        "'n일 동안 방문 없음'은 강한 기준선입니다. 규칙이 이기거나 동률이면 모델의 이득은 val 앵커 하나의 잡음 안에 있습니다. 당분간 최근성으로 타기팅하고, 더 긴 이력(앵커 추가)으로 다시 학습한 뒤 모델을 믿으세요.",
    ),
    (
        "K, 등급, 혜택은 어떻게 바꾸나요?",
        "Targets 탭에서 +와 -는 K를 다음 정수 %로, ]와 [는 다음 5%의 배수로 바꾸고, K로 직접 입력합니다. 등급과 혜택은 --config FILE에서, 리더보드의 K 값들은 --k로 정합니다.",
    ),
    (
        "왜 대조군을 남겨 두고, 업리프트는 어떻게 읽나요?",
        "위험 점수가 높다는 것은 누가 떠날지를 말할 뿐, 쿠폰이 누구를 붙잡는지는 말하지 않습니다: 어차피 돌아올 고객도 있습니다. 캠페인(Targets 탭의 c, 또는 churn-tui campaign create)은 각 등급에서 무작위로 일부에게 혜택을 주지 않습니다. 기간이 지나면 업리프트 = 대조군 휴면율 - 처치군 휴면율을 90% 구간과 함께 봅니다. 구간이 0을 걸치면 효과를 우연과 구별할 수 없다는 뜻이지(고객 수가 적거나 효과가 약함), 효과가 없다는 증거는 아닙니다.",
    ),
    (
        "예산으로 K를 정하려면, 그리고 목록의 기대 수익은?",
        "--config 파일에서 각 등급의 혜택 비용(cost = 3000, 또는 discount와 redeem_rate)과 currency를 정하세요. Targets 탭에서 b로 예산을 입력하면 K는 그 예산으로 혜택을 줄 수 있는 가장 긴 목록 앞부분이 됩니다(제외한 사용자는 예산을 돌려주고, 추가한 사용자는 씁니다). 머리글에 쓴 금액과 남은 금액이 나옵니다. p는 K별 비용, 기대 수익, 순이익을 보여 줍니다. 수익에는 캠페인 결과(등급별 업리프트)가 필요하고, 없으면 비용만 보여 줍니다.",
    ),
    (
        "파일은 어디에 저장되나요?",
        "실행 결과는 artifacts/<run-id>/(또는 --out)에 저장됩니다: manifest, 모델, eval.json, 점수, 곡선, 직접 편집한 내용(edits.json). 내보내기와 보고서는 기본적으로 실행 폴더에, 캠페인은 artifacts/campaigns.db(또는 --db)에, 로그는 artifacts/churn-tui.log에 있습니다.",
    ),
];

/// The FAQ in `lang` (a reasons language code), English when there is none.
pub fn for_lang(lang: &str) -> &'static [(&'static str, &'static str)] {
    match lang {
        "ko" => KO,
        _ => EN,
    }
}
